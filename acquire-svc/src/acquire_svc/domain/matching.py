"""Matching a candidate's text against the wanted track.

Token overlap rather than character similarity: "Believe Her" and "Believer" share 8 of 11 characters (a
SequenceMatcher ratio of 0.84) but no word, and a wrong song kept is the failure users complain about most.

Worked examples (wanted → candidate → similarity):
- "Believer" → "Imagine Dragons - Believer (Official Video)" → 1.0 (artist prefix and noise words removed)
- "Believe Her" → "Believer" → 0.0
- "Don't Stop Me Now" → "Dont Stop Me Now - Remastered 2011" → 1.0
- "Hello" → "Hello (Live at Wembley)" → title 1.0, but flagged as an unwanted version: live
- "残酷な天使のテーゼ" → "千本桜" → 0.0 (every script's letters are kept; Han and kana compare character by character)
- "🔥" → "🔥 (Official Video)" → 1.0, "🔥" → "❄" → 0.0 (a title of symbols compares by their names)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from infra.textfold import match_key, match_tokens, translit_key

__all__ = [
    "UNWANTED_MARKERS",
    "Ranked",
    "normalize",
    "rank",
    "strip_artist",
    "title_similarity",
    "tokens",
    "unwanted_markers",
]

# version markers dropped unless the wanted recording is itself one of them
UNWANTED_MARKERS: dict[str, re.Pattern[str]] = {
    "live": re.compile(r"\blive\b"),
    "cover": re.compile(r"\bcover(ed)?\b"),
    "karaoke": re.compile(r"\bkaraoke\b"),
    "remix": re.compile(r"\b(remix|rmx)\b"),
    "sped up": re.compile(r"\bsped\s*up\b"),
    "nightcore": re.compile(r"\bnightcore\b"),
    "slowed": re.compile(r"\bslowed\b"),
    "instrumental": re.compile(r"\binstrumental\b"),
}

# words that say nothing about which song it is (video decorations, mastering notes)
_NOISE = {
    "official",
    "video",
    "audio",
    "music",
    "lyric",
    "lyrics",
    "hd",
    "hq",
    "4k",
    "visualizer",
    "remaster",
    "remastered",
    "version",
    "explicit",
    "clean",
    "mv",
    "feat",
    "ft",
    "featuring",
    "topic",
}
_YEAR = re.compile(r"^(19|20)\d\d$")


def normalize(text: str) -> str:
    """The shared match key: case-folded, accents stripped, '&' spelled 'and', apostrophes dropped ("Don't" →
    "dont"); the letters of every script kept, so "千本桜" stays "千本桜" instead of folding to nothing."""
    return match_key(text)


def tokens(text: str) -> list[str]:
    """Words that say which song it is; Han and kana characters count one by one (those scripts have no spaces)."""
    return [t for t in match_tokens(text) if t not in _NOISE and not _YEAR.match(t)]


def strip_artist(candidate: str, artists: Iterable[str]) -> str:
    """Remove an "Artist - " prefix (or " - Artist" suffix) that video titles and file names carry."""
    parts = [p.strip() for p in re.split(r"\s+[-\u2013\u2014]\s+", candidate) if p.strip()]
    if len(parts) < 2:
        return candidate
    names = {normalize(a) for a in artists if a}
    kept = [p for p in parts if normalize(p) not in names]
    return " - ".join(kept) if kept else candidate


def title_similarity(wanted: str, candidate: str, artists: Iterable[str] = ()) -> float:
    """F1 of the two token sets (0..1), after the artist prefix and noise words are removed."""
    stripped = strip_artist(candidate, artists)
    want, have = set(tokens(wanted)), set(tokens(stripped))
    if not want and not have:  # nothing but symbols ("🔥"): compare their names ("fire"), never two empty sets
        want, have = set(tokens(translit_key(wanted))), set(tokens(translit_key(stripped)))
    if not want or not have:
        return 0.0
    common = len(want & have)
    if not common:
        return 0.0
    precision, recall = common / len(have), common / len(want)
    return 2 * precision * recall / (precision + recall)


def unwanted_markers(wanted: str, candidate: str) -> list[str]:
    """Version markers in the candidate that the wanted title does not carry ("live", "remix", …)."""
    want, have = normalize(wanted), normalize(candidate)
    return [name for name, rx in UNWANTED_MARKERS.items() if rx.search(have) and not rx.search(want)]


@dataclass(frozen=True)
class Ranked:
    """A candidate's distance as named penalties (larger is worse), so a choice can explain itself."""

    key: str
    penalties: dict[str, float] = field(default_factory=dict)
    dropped: str | None = None

    @property
    def distance(self) -> float:
        return sum(self.penalties.values())

    def explain(self) -> str:
        if self.dropped:
            return f"dropped: {self.dropped}"
        return ", ".join(f"{k}={v:.2f}" for k, v in sorted(self.penalties.items(), key=lambda kv: -kv[1])) or "exact"


def rank(
    wanted_title: str,
    wanted_artists: Iterable[str],
    wanted_duration_s: float | None,
    candidates: Iterable[tuple[str, str, float | None]],
    *,
    min_similarity: float,
) -> list[Ranked]:
    """Order `(key, title, duration_s)` candidates best first; unwanted versions and weak titles are dropped.

    Penalties: `title` = 1 - similarity (weight 1); `duration` = distance in seconds / 30 (capped at 1, 0.5 when
    the candidate's length is unknown). Dropped candidates come last, with the reason.
    """
    artists = list(wanted_artists)
    kept: list[Ranked] = []
    dropped: list[Ranked] = []
    for key, title, duration_s in candidates:
        markers = unwanted_markers(wanted_title, title)
        if markers:
            dropped.append(Ranked(key, dropped=f"unwanted version ({', '.join(markers)})"))
            continue
        sim = title_similarity(wanted_title, title, artists)
        if sim < min_similarity:
            dropped.append(Ranked(key, dropped=f"title similarity {sim:.2f} < {min_similarity:.2f}"))
            continue
        penalties = {"title": round(1.0 - sim, 4)}
        if wanted_duration_s is not None:
            if duration_s is None:
                penalties["duration"] = 0.5
            else:
                penalties["duration"] = round(min(1.0, abs(duration_s - wanted_duration_s) / 30.0), 4)
        kept.append(Ranked(key, penalties))
    kept.sort(key=lambda r: r.distance)
    return kept + dropped
