"""Events published by acquire-svc on the ACQUIRE stream."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from .base import Event
from .common import CandidateSource, TrackMetadata, TrackQuery

__all__ = [
    "AcquisitionFailed",
    "AcquisitionFailureReason",
    "AcquisitionSkipped",
    "CandidateRejected",
    "RejectionReason",
    "SkipReason",
    "TrackDownloaded",
    "TrackTagged",
    "TrackValidated",
    "UrlInspected",
    "UrlMetadataSource",
    "UrlProblem",
    "UrlRejected",
]


class _Acquire(Event):
    stream: ClassVar[str] = "ACQUIRE"


class SkipReason(StrEnum):
    ALREADY_OWNED = "already_owned"
    ALREADY_IN_FLIGHT = "already_in_flight"


class AcquisitionSkipped(_Acquire):
    """The gate let nothing through: the track is owned or already being acquired."""

    subject: ClassVar[str] = "acquire.track.skipped"

    recording_mbid: UUID
    reason: SkipReason
    existing_correlation_id: UUID | None = None


class TrackDownloaded(_Acquire):
    subject: ClassVar[str] = "acquire.track.downloaded"

    recording_mbid: UUID
    backend: str
    candidate_id: str
    staging_path: str
    size_bytes: int = Field(ge=0)


class RejectionReason(StrEnum):
    UNREADABLE = "unreadable"
    CODEC_NOT_ALLOWED = "codec_not_allowed"
    BITRATE_TOO_LOW = "bitrate_too_low"
    DURATION_MISMATCH = "duration_mismatch"
    TITLE_MISMATCH = "title_mismatch"
    UNWANTED_VERSION = "unwanted_version"
    TOO_LARGE = "too_large"
    DOWNLOAD_FAILED = "download_failed"


class CandidateRejected(_Acquire):
    """A downloaded candidate failed validation; it goes into the negative cache and is never fetched again."""

    subject: ClassVar[str] = "acquire.candidate.rejected"

    recording_mbid: UUID
    backend: str
    candidate_id: str
    reason: RejectionReason
    detail: str = ""


class TrackValidated(_Acquire):
    subject: ClassVar[str] = "acquire.track.validated"

    recording_mbid: UUID
    backend: str
    candidate_id: str
    codec: str
    bitrate_kbps: int | None = None
    duration_ms: int = Field(ge=0)


class TrackTagged(_Acquire):
    """A fully tagged file in staging (both stages done and read back), ready to move into the library."""

    subject: ClassVar[str] = "acquire.track.tagged"

    track: TrackMetadata
    staging_path: str
    format: str = Field(description="'mp3', 'flac', 'ogg', 'opus' or 'm4a'.")
    size_bytes: int = Field(ge=0)
    sha256: str
    origin: CandidateSource | None = Field(
        default=None, description="Why the track was wanted (CF, radio, playlists, manual), from the resolve step."
    )


class AcquisitionFailureReason(StrEnum):
    NO_CANDIDATES = "no_candidates"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    TAGGING_FAILED = "tagging_failed"
    BACKENDS_UNAVAILABLE = "backends_unavailable"


class AcquisitionFailed(_Acquire):
    subject: ClassVar[str] = "acquire.track.failed"

    recording_mbid: UUID
    reason: AcquisitionFailureReason
    detail: str = ""
    rejected: list[CandidateRejected] = Field(default_factory=list, description="Every candidate tried, and why.")


class UrlMetadataSource(StrEnum):
    FILE_TAGS = "file_tags"
    """The URL is an audio file: its own tags."""
    PAGE = "page"
    """The URL is a page yt-dlp knows: the metadata yt-dlp reads from it."""


class UrlInspected(_Acquire):
    """A manual request gave only a URL: what the file's tags (or the page) say the track is, to resolve from."""

    subject: ClassVar[str] = "acquire.url.inspected"

    request_id: UUID
    url: str
    query: TrackQuery
    source: UrlMetadataSource


class UrlProblem(StrEnum):
    NO_METADATA = "no_metadata"
    """Neither an artist and a title nor a recording MBID in the file's tags or the page's metadata."""
    REFUSED = "refused"
    """Not fetched: not http(s), or a private address while those are not allowed."""
    DOWNLOAD_FAILED = "download_failed"
    """The server answered 4xx, or the page has nothing yt-dlp can read."""
    NOT_AUDIO = "not_audio"
    """A file, but not one mutagen reads as audio."""


class UrlRejected(_Acquire):
    """A URL given alone cannot say what track it is: the request ends here, with the reason."""

    subject: ClassVar[str] = "acquire.url.rejected"

    request_id: UUID
    url: str
    reason: UrlProblem
    detail: str = ""
