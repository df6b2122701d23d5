"""Events published by resolve-svc on the RESOLVE stream."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from .base import Event
from .common import CandidateSource, MatchExplanation, MatchMethod, Penalty, TrackMetadata, TrackQuery

__all__ = [
    "ListenMatched",
    "ListenUnmatched",
    "ListenUnmatchedReason",
    "TrackResolved",
    "TrackUnresolved",
    "UnresolvedReason",
]


class _Resolve(Event):
    stream: ClassVar[str] = "RESOLVE"


class TrackResolved(_Resolve):
    """A wanted track, normalized against MusicBrainz, with its album and cover chosen."""

    subject: ClassVar[str] = "resolve.track.resolved"

    track: TrackMetadata
    origin: CandidateSource
    explanation: MatchExplanation
    request_id: UUID | None = Field(default=None, description="The manual request this answers, if any.")
    source_url: str | None = Field(default=None, description="A direct URL given with a manual request.")


class UnresolvedReason(StrEnum):
    NOT_FOUND = "not_found"
    """No candidate at all."""
    BELOW_THRESHOLD = "below_threshold"
    """Candidates exist, none close enough; never a silent guess."""
    INVALID_INPUT = "invalid_input"
    """Nothing to search with (no MBID, no artist/title)."""


class TrackUnresolved(_Resolve):
    subject: ClassVar[str] = "resolve.track.unresolved"

    query: TrackQuery
    origin: CandidateSource
    reason: UnresolvedReason
    top_penalties: list[Penalty] = Field(default_factory=list)
    candidate_count: int = Field(default=0, ge=0)
    request_id: UUID | None = None


class ListenMatched(_Resolve):
    """A recorded play (one `ListenRecorded`) matched to a MusicBrainz recording."""

    subject: ClassVar[str] = "resolve.listen.matched"

    listen_id: UUID = Field(description="The `event_id` of the `ListenRecorded` this answers.")
    recording_mbid: UUID
    method: MatchMethod
    distance: float = Field(default=0.0, ge=0)
    artist: str | None = Field(default=None, description="The recording's artist credit, as MusicBrainz has it.")
    title: str | None = None
    attempt: int = Field(default=1, ge=1)


class ListenUnmatchedReason(StrEnum):
    NOT_FOUND = "not_found"
    """MusicBrainz has no candidate for the play's text or ISRC."""
    BELOW_THRESHOLD = "below_threshold"
    """Candidates exist, none close enough."""
    MBID_REJECTED = "mbid_rejected"
    """The source's own MBID is unknown to MusicBrainz or names another track (a Last.fm mbid is checked)."""
    INVALID_INPUT = "invalid_input"
    """Nothing to match with: no MBID, no ISRC, no artist and title."""


class ListenUnmatched(_Resolve):
    """A recorded play that could not be matched yet; the history store asks again later, with back-off."""

    subject: ClassVar[str] = "resolve.listen.unmatched"

    listen_id: UUID
    reason: ListenUnmatchedReason
    detail: str = ""
    top_penalties: list[Penalty] = Field(default_factory=list)
    attempt: int = Field(default=1, ge=1)
