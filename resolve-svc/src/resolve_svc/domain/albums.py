"""Which album a track belongs to, and which cover it gets. Pure: no I/O.

A commercial search answer (iTunes, Deezer) counts only after validation: its artist and title must be close to the
MusicBrainz recording and its duration within tolerance. An unvalidated first hit is how a Queen song ends up with a
Queens of the Stone Age cover. Among valid hits the studio album beats a compilation, a live album or a soundtrack.
From MusicBrainz, an official release group of primary type Album with no secondary types wins, earliest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .artists import credit_similarity
from .model import CommercialHit, Recording, Release
from .scoring import release_type_penalty
from .text import fold, is_live, looks_like_live_album, title_similarity

__all__ = [
    "AlbumConfig",
    "Validation",
    "best_commercial",
    "best_release",
    "largest_deezer_cover",
    "largest_itunes_cover",
    "validate_hit",
]


@dataclass(frozen=True)
class AlbumConfig:
    min_artist_similarity: float = 0.8
    min_title_similarity: float = 0.8
    duration_tolerance_ms: int = 7000
    """Store versions differ from MusicBrainz lengths by a few seconds (silence, fades); more means another version."""
    itunes_cover_size: int = 3000
    """iTunes artwork URLs take any size up to the master; 3000 px is the largest the store serves."""


@dataclass(frozen=True)
class Validation:
    ok: bool
    reason: str
    artist_similarity: float
    title_similarity: float


def validate_hit(hit: CommercialHit, rec: Recording, cfg: AlbumConfig) -> Validation:
    a_sim = credit_similarity(hit.artist, rec.artist, rec.credit)
    t_sim = title_similarity(rec.title, hit.title)
    if a_sim < cfg.min_artist_similarity:
        return Validation(False, f"artist {hit.artist!r} is not {rec.artist!r} ({a_sim:.2f})", a_sim, t_sim)
    if t_sim < cfg.min_title_similarity:
        return Validation(False, f"title {hit.title!r} is not {rec.title!r} ({t_sim:.2f})", a_sim, t_sim)
    if is_live(hit.title) != rec.live and not (rec.live and looks_like_live_album(hit.album)):
        return Validation(False, f"{hit.title!r} is another version of {rec.title!r}", a_sim, t_sim)
    if hit.duration_ms is not None and rec.length_ms is not None:
        delta = abs(hit.duration_ms - rec.length_ms)
        if delta > cfg.duration_tolerance_ms:
            return Validation(False, f"duration off by {delta / 1000:.1f}s", a_sim, t_sim)
    return Validation(True, "valid", a_sim, t_sim)


_COMPILATION = re.compile(
    r"\b(greatest hits|best of|the best|hits|collection|anthology|essential|essentials|gold|platinum|"
    r"compilation|the very best|singles|number ones|now that s what i call)\b"
)
_SOUNDTRACK = re.compile(r"\b(soundtrack|ost|original motion picture)\b")


def _album_penalty(hit: CommercialHit, rec: Recording) -> float:
    name = fold(hit.album)
    penalty = 0.0
    if _COMPILATION.search(name) or (hit.collection_type or "").lower() == "compilation":
        penalty = max(penalty, 0.6)
    if looks_like_live_album(hit.album) and not rec.live:
        penalty = max(penalty, 1.0)
    if _SOUNDTRACK.search(name):
        penalty = max(penalty, 0.5)
    if hit.album_artist and fold(hit.album_artist) in ("various artists", "verschiedene interpreten", "various"):
        penalty = max(penalty, 0.8)
    return penalty


def best_commercial(
    hits: list[CommercialHit], rec: Recording, cfg: AlbumConfig
) -> tuple[CommercialHit | None, list[str]]:
    """The valid hit on the most canonical album (studio before compilation/live, then earliest); with the reasons
    the others were rejected."""
    valid: list[tuple[float, str, CommercialHit, Validation]] = []
    rejected: list[str] = []
    for hit in hits:
        check = validate_hit(hit, rec, cfg)
        if check.ok:
            valid.append((_album_penalty(hit, rec), hit.release_date or "9999", hit, check))
        else:
            rejected.append(check.reason)
    if not valid:
        return None, rejected
    valid.sort(key=lambda v: (v[0], -round(v[3].title_similarity + v[3].artist_similarity, 3), v[1]))
    return valid[0][2], rejected


def best_release(releases: tuple[Release, ...]) -> Release | None:
    """Official Album without secondary types first, then by type penalty; earliest date breaks ties."""
    if not releases:
        return None

    def key(r: Release) -> tuple[float, float, str]:
        official = 0.0 if (r.status or "").lower() == "official" else 1.0
        return (release_type_penalty(r), official, r.date or "9999")

    return min(releases, key=key)


_ITUNES_SIZE = re.compile(r"/(\d+)x(\d+)(bb|cc|sr)?(\.(?:jpg|jpeg|png|webp))$", re.IGNORECASE)


def largest_itunes_cover(url: str, size: int) -> tuple[str, int | None]:
    """iTunes artwork URLs end in '/100x100bb.jpg'; the same URL with a larger size serves the larger image."""
    m = _ITUNES_SIZE.search(url)
    if m is None:
        return url, None
    return url[: m.start()] + f"/{size}x{size}{m.group(3) or 'bb'}{m.group(4)}", size


def largest_deezer_cover(urls: dict[str, str]) -> tuple[str | None, int | None]:
    """Deezer names sizes: cover_xl (1000 px) is the largest the API offers."""
    for key, size in (("cover_xl", 1000), ("cover_big", 500), ("cover_medium", 250), ("cover", None)):
        if urls.get(key):
            return urls[key], size
    return None, None
