"""Events published by resolve-svc on the RESOLVE stream."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from .base import Event
from .common import CandidateSource, MatchExplanation, Penalty, TrackMetadata, TrackQuery

__all__ = ["TrackResolved", "TrackUnresolved", "UnresolvedReason"]


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
