"""Recommendation runs: the CF/radio split, dedupe across both sources, and retrain detection.

Retrain detection (worked example). The stored cursor says offset 50, marker `model_id=m1`.
- This run's CF page carries `model_id=m2`: the model was retrained, the list's head changed, so offset 50 of the
  new list means nothing. Go back to offset 0 and record (m1 → m2, old offset 50).
- This run's page carries `model_id=m1`: unchanged, read on from offset 50.
- No `model_id` or `last_updated` at all: compare the first recording MBID of the list (offset 0) with the stored
  one instead.
A marker of another kind than the stored one cannot be compared; it is stored, and no retrain is declared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from uuid import UUID

__all__ = [
    "GENERATED_KINDS",
    "CfCursor",
    "CfPage",
    "Marker",
    "MarkerKind",
    "Recommendation",
    "Retrain",
    "Selection",
    "detect_retrain",
    "marker_of",
    "split_run",
    "split_run3",
]


GENERATED_KINDS = {"weekly-exploration": "Weekly Exploration", "weekly-jams": "Weekly Jams"}
"""The playlists ListenBrainz generates for a user that are taken as candidates, in the order a run takes turns
between them: their algorithm's `source_patch` → the start of their title."""


class MarkerKind:
    MODEL_ID = "model_id"
    LAST_UPDATED = "last_updated"
    FIRST_MBID = "first_mbid"


@dataclass(frozen=True)
class Marker:
    kind: str
    value: str


@dataclass(frozen=True)
class Recommendation:
    recording_mbid: UUID
    position: int
    score: float | None = None
    artist: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class CfPage:
    """One page of CF recommendations; `None` fields were absent from the response."""

    offset: int
    items: list[Recommendation]
    total: int | None = None
    model_id: str | None = None
    last_updated: str | None = None


@dataclass(frozen=True)
class CfCursor:
    """What a user's CF pagination remembers between runs (and restarts)."""

    offset: int = 0
    marker: Marker | None = None
    radio_rotation: int = 0
    """Index into the user's top artists where the next radio prompt starts."""
    last_run_at: float = 0.0
    """Unix time of the last run, so a restart does not start a run before the interval is over."""


@dataclass(frozen=True)
class Retrain:
    old: Marker | None
    new: Marker
    old_offset: int


def marker_of(page: CfPage, head: Recommendation | None) -> Marker | None:
    """The page's own marker when it has one (model_id before last_updated), else the list's first MBID."""
    if page.model_id:
        return Marker(MarkerKind.MODEL_ID, page.model_id)
    if page.last_updated:
        return Marker(MarkerKind.LAST_UPDATED, page.last_updated)
    if head is not None:
        return Marker(MarkerKind.FIRST_MBID, str(head.recording_mbid))
    return None


def detect_retrain(cursor: CfCursor, new: Marker | None) -> Retrain | None:
    """A retrain is a marker of the same kind with another value. Nothing stored yet is a first run, not a retrain."""
    if new is None or cursor.marker is None:
        return None
    if cursor.marker.kind != new.kind or cursor.marker.value == new.value:
        return None
    return Retrain(old=cursor.marker, new=new, old_offset=cursor.offset)


def split_run(run_size: int, cf_ratio: float) -> tuple[int, int]:
    """(CF share, radio share) of a run, rounded half up so 80/20 of any size is within one candidate."""
    cf = min(run_size, math.floor(run_size * cf_ratio + 0.5))
    return cf, run_size - cf


def split_run3(run_size: int, cf_ratio: float, playlists_ratio: float) -> tuple[int, int, int]:
    """(CF, radio, playlists) shares of a run: the generated playlists take `playlists_ratio` of the run first
    (rounded half up), and CF and radio share the rest by `cf_ratio`."""
    playlists = min(run_size, math.floor(run_size * playlists_ratio + 0.5))
    cf, radio = split_run(run_size - playlists, cf_ratio)
    return cf, radio, playlists


@dataclass
class Selection:
    """Candidates chosen for one run, deduped by recording MBID across both sources."""

    seen: set[UUID] = field(default_factory=set)
    duplicates: int = 0

    def admit(self, mbid: UUID, known: bool) -> bool:
        """True when `mbid` is new to this run and not `known` (wanted, in flight or owned)."""
        if mbid in self.seen or known:
            self.duplicates += 1
            self.seen.add(mbid)
            return False
        self.seen.add(mbid)
        return True
