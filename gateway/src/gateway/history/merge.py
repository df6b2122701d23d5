"""One play, one row: which sightings of a track by different sources are the same play.

A *sighting* is one source's report of one play (one `ListenRecorded`). Sources report the same play with clocks a
few seconds apart (Last.fm and ListenBrainz stamp the start as each received it, a Subsonic client its own start),
and Spotify stamps the end. The history store keeps one *play* per real play, holding every sighting of it.

The rule, applied to the sightings of one user and one track (same `track_key`):

1. Each sighting gets a start: its time as given, except Spotify's, which is the end, so its duration (when known)
   is taken off.
2. Sightings are sorted by (start, source, id) and swept in that order. A sighting joins the nearest earlier play
   (by the start of that play's first sighting, its *anchor*) when all of these hold:
   a. its source has not already reported that play: one source never reports one play twice (its own dedupe in
      ingest-svc already made one listen of it), so two sightings from one source are two plays;
   b. it starts within the window of the anchor: `window = min(tolerance, duration / 2)`, with the shortest
      duration any of the two reports. A real repeat of a track cannot start before the earlier play could have
      ended, so two starts a whole duration apart are two plays, and half the duration leaves room for skewed
      clocks on both sides. Without a known duration, the window is `tolerance` (60 s by default).
3. Otherwise the sighting starts a new play.

A play's id is its anchor's id. Because the clusters are a function of the *set* of sightings (sorted, then swept),
the result is the same whatever order the sources arrived in, and after a replay. The store recomputes only the
chain of sightings around a new one (sightings closer than `tolerance` to a neighbour), since nothing farther can
change.

Worked examples (tolerance 60 s; a 3:20 track, window min(60, 100) = 60 s):
- ListenBrainz 12:00:00, Last.fm 12:00:04, Subsonic 11:59:58 → one play (anchor Subsonic 11:59:58) with three
  sources; Last.fm is 6 s from the anchor, ListenBrainz 2 s.
- ListenBrainz 12:00:00 and ListenBrainz 12:03:25 → two plays: one source, two reports (rule 2a), and a repeat.
- ListenBrainz 12:00:00, Last.fm 12:03:22 → two plays: 202 s is past the window (rule 2b); the Last.fm one is the
  repeat that started once the first play ended.
- ListenBrainz 12:00:00, ListenBrainz 12:03:20, Last.fm 12:03:23 → two plays; Last.fm joins the second (3 s from
  its anchor), not the first (203 s).
- A 40 s interlude: window min(60, 20) = 20 s. Last.fm 12:00:00 and Subsonic 12:00:25 → two plays; 25 s apart,
  the second could not be the same play of a 40 s track if the clocks agree within 20 s.
- Spotify says 12:03:20 for a 3:20 track (the end) → its start is 12:00:00 and it merges with ListenBrainz 12:00:01.
- "The Beatles — Let It Be (Remastered 2009)" and "Beatles — Let It Be" share a track key (articles, bracketed
  notes, case, accents and punctuation are folded away), so they can merge; "Let It Be (Live)" is kept apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["MergeConfig", "Sighting", "cluster", "track_key"]


@dataclass(frozen=True)
class MergeConfig:
    tolerance_s: float = 60.0
    """Largest clock difference between two sources' reports of one play."""


@dataclass(frozen=True)
class Sighting:
    listen_id: str
    source: str
    start: float
    """Unix seconds at which the play started, by this source's report (see `start_of`)."""
    duration_s: float | None = None

    @staticmethod
    def start_of(source: str, at: float, duration_s: float | None) -> float:
        # Spotify's played_at is when the track finished
        if source == "spotify" and duration_s:
            return at - duration_s
        return at


def _window(a: Sighting, b: Sighting, cfg: MergeConfig) -> float:
    durations = [d for d in (a.duration_s, b.duration_s) if d]
    return min(cfg.tolerance_s, min(durations) / 2) if durations else cfg.tolerance_s


def _order(s: Sighting) -> tuple[float, str, str]:
    return (s.start, s.source, s.listen_id)


def cluster(sightings: Iterable[Sighting], cfg: MergeConfig) -> list[list[Sighting]]:
    """The plays of one user's sightings of one track, each a list whose first item is its anchor."""
    plays: list[list[Sighting]] = []
    for s in sorted(sightings, key=_order):
        best: list[Sighting] | None = None
        best_gap = 0.0
        # newest plays first; past the tolerance no earlier play can take it
        for play in reversed(plays):
            anchor = play[0]
            gap = s.start - anchor.start
            if gap > cfg.tolerance_s:
                break
            if any(o.source == s.source for o in play) or gap > _window(anchor, s, cfg):
                continue
            if best is None or gap < best_gap:
                best, best_gap = play, gap
        if best is None:
            plays.append([s])
        else:
            best.append(s)
    return plays


def chain_bounds(starts: Sequence[float], around: float, cfg: MergeConfig) -> tuple[float, float]:
    """The span of the chain of `starts` (sorted) that `around` belongs to: neighbours closer than the tolerance.

    Sightings outside it cannot share a play with any inside, so a new sighting changes plays only within it.
    """
    low = high = around
    for t in reversed([t for t in starts if t <= around]):
        if low - t > cfg.tolerance_s:
            break
        low = t
    for t in (t for t in starts if t >= around):
        if t - high > cfg.tolerance_s:
            break
        high = t
    return low, high


_BRACKETS = re.compile(r"\s*[\(\[\{][^\)\]\}]*[\)\]\}]")
_FEAT = re.compile(r"\s+(?:feat|ft|featuring)\b\.?\s+.*$", re.IGNORECASE)
_DASH_NOTE = re.compile(r"\s+-\s+(?:\d{4}\s+)?(?:remaster(?:ed)?|single version|album version|radio edit).*$", re.I)
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)
_KEEP = re.compile(r"[\(\[]\s*(?:live|acoustic|demo|instrumental|remix|[^\)\]]*\bmix)\b", re.IGNORECASE)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().replace("&", " and ")
    return _NOT_WORD.sub(" ", text).strip()


def track_key(artist: str, title: str) -> str:
    """Folded artist and title: what two sources' reports of one track have in common.

    Notes that name a different recording (live, acoustic, demo, a remix) stay in the key; remasters, featured
    artists and other bracketed notes do not.
    """
    kept = " ".join(m.group(0) for m in _KEEP.finditer(title))
    bare = _DASH_NOTE.sub("", _FEAT.sub("", _BRACKETS.sub("", title)))
    a = _fold(_FEAT.sub("", artist))
    if a.startswith("the "):
        a = a[4:]
    return f"{a}\x1f{_fold(bare + ' ' + kept)}"
