"""The gate's entry for one recording MBID and the rules for who may work on it.

An entry is created once (the atomic create in `pipeline_gate`); afterwards only its owner, the `TrackResolved`
whose `event_id` created it, goes on with it, so a redelivery of the same message resumes its own work while a
second request for the track starts nothing.

Retry rule: a *failed* entry is reopened only by a manual `TrackResolved` (origin `manual`: a person asked again,
through a request or a RetryTrack rematch). Recommendations (cf, radio) never reopen a failed track, so a track
that keeps failing cannot loop; the negative cache keeps even a manual retry from fetching a rejected candidate
again. A *tagged* entry is reopened by a manual request only once its staging file is gone and the library does not
own the track (it was imported, then removed): while the file waits in staging for the library, a request for it
starts nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict

__all__ = ["Decision", "GateEntry", "GateState", "decide"]


class GateState(StrEnum):
    IN_FLIGHT = "in_flight"
    TAGGED = "tagged"
    FAILED = "failed"


class GateEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    state: GateState
    correlation_id: UUID
    owner_event_id: UUID
    created_at: datetime
    updated_at: datetime
    attempts: int = 1
    detail: str = ""


class Decision(StrEnum):
    PROCEED = "proceed"
    """This message owns the entry (it created it, or it is a redelivery of the one that did)."""
    REOPEN = "reopen"
    """A failed entry and a manual request: take it over (compare-and-set on the revision)."""
    SKIP = "skip"
    """Another journey holds the track: start nothing."""


def decide(existing: GateEntry, event_id: UUID, *, manual: bool, staged: bool = False) -> Decision:
    """`staged`: a file for this track waits in staging (the owned check has already said the library lacks it)."""
    if existing.owner_event_id == event_id:
        return Decision.PROCEED
    if manual and existing.state is GateState.FAILED:
        return Decision.REOPEN
    if manual and existing.state is GateState.TAGGED and not staged:
        return Decision.REOPEN
    return Decision.SKIP
