"""Events published by ingest-svc on the INGEST stream."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from .base import Event
from .common import CandidateSource, ListenSource

__all__ = [
    "CandidateDiscovered",
    "ListenRecorded",
    "ModelRetrained",
    "PollFailed",
    "PollFailureReason",
    "RecommendationRunCompleted",
    "RecommendationRunFailed",
    "RecommendationRunStarted",
]


class _Ingest(Event):
    stream: ClassVar[str] = "INGEST"


class CandidateDiscovered(_Ingest):
    """A recording recommended to a user, deduped against both sources and against what is wanted or owned."""

    subject: ClassVar[str] = "ingest.candidate.discovered"

    recording_mbid: UUID
    source: CandidateSource
    run_id: UUID
    position: int = Field(ge=0, description="Position within the source's list (CF offset or radio index).")
    score: float | None = None
    artist: str | None = Field(default=None, description="Display hint from the source; resolve-svc decides.")
    title: str | None = None


class ModelRetrained(_Ingest):
    """ListenBrainz retrained its CF model for a user: pagination went back to offset 0."""

    subject: ClassVar[str] = "ingest.model.retrained"

    marker_kind: str = Field(description="'last_updated', 'model_id' or 'first_mbid': what the markers are.")
    old_marker: str | None
    new_marker: str
    old_offset: int = Field(ge=0)


class RecommendationRunStarted(_Ingest):
    subject: ClassVar[str] = "ingest.run.started"

    run_id: UUID
    trigger: str = Field(description="'schedule' or 'manual'.")
    run_size: int = Field(ge=0)
    cf_ratio: float = Field(ge=0, le=1)
    playlists_ratio: float = Field(default=0.0, ge=0, le=1, description="Share of the generated playlists.")


class RecommendationRunCompleted(_Ingest):
    subject: ClassVar[str] = "ingest.run.completed"

    run_id: UUID
    cf_count: int = Field(ge=0)
    radio_count: int = Field(ge=0)
    playlists_count: int = Field(default=0, ge=0, description="Candidates from the generated playlists.")
    duplicates_skipped: int = Field(ge=0)
    excluded: int = Field(default=0, ge=0, description="Candidates left out by a tombstone or an excluded artist.")
    cf_offset: int = Field(ge=0, description="CF offset stored for the next run.")
    cf_exhausted: bool = False
    failures: list[str] = Field(
        default_factory=list, description="Sources that failed while others answered, in words ('radio: …')."
    )


class RecommendationRunFailed(_Ingest):
    """A run that could not recommend anything: no ListenBrainz account, or every source failed."""

    subject: ClassVar[str] = "ingest.run.failed"

    run_id: UUID
    trigger: str = Field(description="'schedule' or 'manual'.")
    reason: str = Field(
        description="'no_account', 'unknown_user', 'unavailable' or 'paused' (the disk budget of the discoveries "
        "stops runs; the detail says why)."
    )
    detail: str = Field(description="The reason in words, as the web UI shows it.")


class ListenRecorded(_Ingest):
    """One play, recorded once whatever the number of times a source reported it."""

    subject: ClassVar[str] = "ingest.listen.recorded"

    source: ListenSource
    listened_at: datetime
    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = Field(default=None, ge=0)
    recording_mbid: UUID | None = None
    isrc: str | None = None
    source_ids: dict[str, str] = Field(default_factory=dict, description="The source's own ids for this play.")
    raw: dict[str, Any] = Field(default_factory=dict, description="The source's payload, as received.")

    def trusted_mbid(self) -> UUID | None:
        """The source's own recording MBID when it can be taken as the match without asking MusicBrainz.

        ListenBrainz's `mbid_mapping` and a library track's tag are MusicBrainz's own answer; Last.fm's `mbid` is
        often a track of another release or a stale id, so it is only evidence to check.
        """
        return self.recording_mbid if self.source != ListenSource.LASTFM else None


class PollFailureReason(StrEnum):
    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    PRIVATE_USER = "private_user"
    NOT_FOUND = "not_found"
    BAD_RESPONSE = "bad_response"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"


class PollFailed(_Ingest):
    """A poll of an external source failed; the loop goes on and health shows it."""

    subject: ClassVar[str] = "ingest.poll.failed"

    source: str = Field(description="'listenbrainz', 'lastfm', 'spotify', 'cf' or 'radio'.")
    reason: PollFailureReason
    detail: str = ""
    status: int | None = None
