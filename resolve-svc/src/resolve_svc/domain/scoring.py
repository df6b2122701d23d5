"""Explainable match distance: named, weighted penalties, beets style. Pure: the config comes in as an argument.

distance = Σ weight·penalty / Σ weight over the penalties that apply, so 0 is perfect and 1 is nothing alike. Every
penalty keeps its name and a detail, so an unresolved track can say *why* ("artist 0.42: 'Queen' vs 'Queens of the
Stone Age'") instead of a bare number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .artists import credit_similarity
from .model import Query, Recording, Release
from .text import fold, is_live, title_similarity

__all__ = ["Distance", "MatchConfig", "Ranked", "WeightedPenalty", "rank", "release_type_penalty", "score"]


@dataclass(frozen=True)
class MatchConfig:
    max_distance: float = 0.2
    """A best candidate farther than this is not a match: publish unresolved rather than guess."""
    duration_tolerance_ms: int = 3000
    """A length within this is a perfect duration match."""
    duration_worst_ms: int = 30000
    """A length this far off (or more) is the full duration penalty."""
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "title": 3.0,
            "artist": 3.0,
            "duration": 2.0,
            "version": 1.5,
            "release_type": 0.6,
            "status": 0.3,
            "date": 0.2,
        }
    )


@dataclass(frozen=True)
class WeightedPenalty:
    name: str
    value: float
    """Raw penalty 0..1."""
    weight: float
    detail: str = ""

    @property
    def weighted(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class Distance:
    penalties: tuple[WeightedPenalty, ...]

    @property
    def value(self) -> float:
        total = sum(p.weight for p in self.penalties)
        return sum(p.weighted for p in self.penalties) / total if total else 1.0

    def top(self, n: int = 3) -> list[WeightedPenalty]:
        """The largest weighted contributions first (zero penalties left out)."""
        nonzero = [p for p in self.penalties if p.value > 0]
        return sorted(nonzero, key=lambda p: p.weighted, reverse=True)[:n]


@dataclass(frozen=True)
class Ranked:
    recording: Recording
    distance: Distance


_TYPE_PENALTY = {"album": 0.0, "ep": 0.3, "single": 0.3, "broadcast": 0.6, "other": 0.6}
_SECONDARY_PENALTY = {"compilation": 0.6, "live": 1.0, "soundtrack": 0.5, "dj-mix": 0.8, "remix": 0.7}
_STATUS_PENALTY = {"official": 0.0, "promotion": 0.5, "bootleg": 1.0, "pseudo-release": 0.7}


def release_type_penalty(release: Release, *, live_wanted: bool = False) -> float:
    """0 for an official album with no secondary types; compilations, live albums and soundtracks cost more."""
    value = _TYPE_PENALTY.get((release.primary_type or "other").lower(), 0.6)
    for secondary in release.secondary_types:
        s = secondary.lower()
        if s == "live" and live_wanted:
            continue
        value = max(value, _SECONDARY_PENALTY.get(s, 0.5))
    return value


def _best_release(recording: Recording, live_wanted: bool) -> Release | None:
    if not recording.releases:
        return None
    return min(
        recording.releases,
        key=lambda r: (
            release_type_penalty(r, live_wanted=live_wanted) + _STATUS_PENALTY.get((r.status or "").lower(), 0.5),
            r.date or "9999",
        ),
    )


def _title_penalty(query: Query, rec: Recording) -> WeightedPenalty:
    sim = title_similarity(query.title, rec.title)
    return WeightedPenalty("title", round(1.0 - sim, 4), 0.0, f"{query.title!r} vs {rec.title!r}")


def _artist_penalty(query: Query, rec: Recording) -> WeightedPenalty:
    best = credit_similarity(query.artist, rec.artist, rec.credit)
    return WeightedPenalty("artist", round(1.0 - best, 4), 0.0, f"{query.artist!r} vs {rec.artist!r}")


def _duration_penalty(query: Query, rec: Recording, cfg: MatchConfig) -> WeightedPenalty | None:
    if query.duration_ms is None or rec.length_ms is None:
        return None
    delta = abs(query.duration_ms - rec.length_ms)
    span = max(1, cfg.duration_worst_ms - cfg.duration_tolerance_ms)
    value = min(1.0, max(0.0, delta - cfg.duration_tolerance_ms) / span)
    return WeightedPenalty("duration", round(value, 4), 0.0, f"off by {delta / 1000:.1f}s")


def _version_penalty(query: Query, rec: Recording) -> WeightedPenalty:
    # MusicBrainz marks a live take in its title or disambiguation; search results carry both
    rec_live = is_live(rec.title) or "live" in fold(rec.disambiguation).split()
    if query.live == rec_live:
        return WeightedPenalty("version", 0.0, 0.0)
    wanted = "live" if query.live else "studio"
    return WeightedPenalty("version", 1.0, 0.0, f"wanted the {wanted} version, got {rec.disambiguation or rec.title!r}")


def score(query: Query, rec: Recording, cfg: MatchConfig, *, earliest_year: int | None = None) -> Distance:
    raw: list[WeightedPenalty | None] = [
        _title_penalty(query, rec),
        _artist_penalty(query, rec),
        _duration_penalty(query, rec, cfg),
        _version_penalty(query, rec),
    ]
    release = _best_release(rec, query.live)
    if release is None:
        raw.append(WeightedPenalty("release_type", 1.0, 0.0, "on no release"))
    else:
        kind = "/".join([release.primary_type or "?", *release.secondary_types])
        raw.append(WeightedPenalty("release_type", release_type_penalty(release, live_wanted=query.live), 0.0, kind))
        status = (release.status or "").lower()
        raw.append(WeightedPenalty("status", _STATUS_PENALTY.get(status, 0.5), 0.0, release.status or "no status"))
        year = release.year
        if year is not None and earliest_year is not None:
            raw.append(WeightedPenalty("date", min(1.0, (year - earliest_year) / 10), 0.0, str(year)))
    out = tuple(WeightedPenalty(p.name, p.value, cfg.weights.get(p.name, 1.0), p.detail) for p in raw if p is not None)
    return Distance(out)


def rank(query: Query, candidates: list[Recording], cfg: MatchConfig) -> list[Ranked]:
    """Every candidate with its distance, best first (ties: earlier first release, then MBID for stability)."""
    years = [r.year for rec in candidates for r in rec.releases if r.year is not None]
    earliest = min(years) if years else None
    ranked = [Ranked(rec, score(query, rec, cfg, earliest_year=earliest)) for rec in candidates]
    ranked.sort(key=lambda r: (round(r.distance.value, 6), r.recording.first_release_date or "9999", r.recording.mbid))
    return ranked
