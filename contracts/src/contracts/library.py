"""Events published by library-svc on the LIBRARY stream."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from .base import Event, Model
from .common import CandidateSource

__all__ = [
    "CatalogEntry",
    "ImportFailed",
    "ImportFailureReason",
    "ScanCompleted",
    "ScanFailed",
    "ScanTarget",
    "ScrobbleRecorded",
    "TrackImported",
    "TrackRemoved",
]


class _Library(Event):
    stream: ClassVar[str] = "LIBRARY"


class CatalogEntry(Model):
    """What the catalog row of an imported file holds besides its path and size: the display values it was filed
    under and the file's audio properties, so replaying LIBRARY rebuilds the catalog without opening a file."""

    title: str
    artist: str
    album: str
    album_artist: str
    track_number: int | None = Field(default=None, ge=0)
    disc_number: int | None = Field(default=None, ge=0)
    year: int | None = None
    genres: list[str] = Field(default_factory=list)
    release_mbid: str | None = None
    album_artist_mbid: str | None = None
    added_at: datetime = Field(description="When the track entered the catalog (whole seconds, UTC).")
    mtime_ns: int = Field(ge=0, description="The file's modification time as the catalog recorded it.")
    duration_s: float = Field(default=0.0, ge=0)
    bitrate_kbps: int = Field(default=0, ge=0)
    sample_rate: int = Field(default=0, ge=0)
    channels: int = Field(default=0, ge=0)


class TrackImported(_Library):
    """A tagged file entered the library in one atomic step and the catalog knows it."""

    subject: ClassVar[str] = "library.track.imported"

    recording_mbid: UUID
    track_id: str
    path: str = Field(description="Relative to the library root.")
    size_bytes: int = Field(ge=0)
    entry: CatalogEntry | None = Field(
        default=None,
        description="The catalog row's values; absent in events written before it existed (a replay then reads "
        "the file).",
    )
    origin: CandidateSource | None = Field(
        default=None,
        description="Why it was wanted: a recommendation (CF, radio, playlists) makes it a discovery of `user`; "
        "absent for manual requests before this field existed and for files found by a scan.",
    )


class ImportFailureReason(StrEnum):
    STAGING_MISSING = "staging_missing"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    DISK_FULL = "disk_full"
    PERMISSION_DENIED = "permission_denied"


class ImportFailed(_Library):
    subject: ClassVar[str] = "library.track.import_failed"

    recording_mbid: UUID
    reason: ImportFailureReason
    detail: str = ""


class TrackRemoved(_Library):
    subject: ClassVar[str] = "library.track.removed"

    track_id: str
    recording_mbid: UUID | None = None
    path: str


class ScanTarget(StrEnum):
    LIBRARY = "library"
    """The built-in catalog's scan of the music folder."""
    NAVIDROME = "navidrome"


class ScanCompleted(_Library):
    subject: ClassVar[str] = "library.scan.completed"

    target: ScanTarget
    added: int = Field(default=0, ge=0)
    updated: int = Field(default=0, ge=0)
    removed: int = Field(default=0, ge=0)
    unchanged: int = Field(default=0, ge=0)
    duration_ms: int = Field(default=0, ge=0)


class ScanFailed(_Library):
    subject: ClassVar[str] = "library.scan.failed"

    target: ScanTarget
    reason: str = Field(description="'timeout', 'unreachable', 'auth_failed' or 'upstream_error'.")
    detail: str = ""


class ScrobbleRecorded(_Library):
    """The built-in Subsonic API recorded a play (`scrobble` with submission=true); ingest-svc makes it a listen.

    With Navidrome as the upstream, the gateway publishes `ScrobbleSubmitted` instead.
    """

    subject: ClassVar[str] = "library.scrobble.recorded"

    track_id: str
    played_at: datetime
    recording_mbid: UUID | None = None
    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = Field(default=None, ge=0)
    client: str | None = None
