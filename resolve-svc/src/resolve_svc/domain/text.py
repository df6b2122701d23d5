"""Music-aware text cleaning and comparison. Pure: no I/O.

Raw titles come in as "Artist - Track (Official Audio) [Remastered 2011] HD"; MusicBrainz knows "Track". Cleaning
drops that noise; folding is the shared match key of `infra.textfold` (Unicode look-alikes, diacritics, case), and
comparison knows that "The Beatles" is "Beatles, The", that "&" is "and", that a featured artist is a detail rather
than a different song, that "A & B", "A, B", "A feat. B" and "A and B" credit the same two artists, and that a name in
another script may be written in a Latin transliteration.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from infra.textfold import display_key, match_key, translit_key

__all__ = [
    "CleanText",
    "artist_variants",
    "clean_artist",
    "clean_title",
    "fold",
    "is_live",
    "looks_like_live_album",
    "similarity",
    "split_artist_prefix",
    "title_similarity",
]

# Bracketed or trailing noise that names a video, a format or a re-issue, never a different recording.
_NOISE_WORDS = (
    r"official\s*(?:music\s*)?(?:audio|video|lyric\s*video|visualizer|visualiser)?|lyrics?(?:\s*video)?|"
    r"audio|video|music\s*video|hd|hq|4k|1080p|720p|explicit|clean|visualizer|visualiser|"
    r"(?:\d{4}\s*)?(?:digital(?:ly)?\s*)?remaster(?:ed)?(?:\s*version)?(?:\s*\d{4})?|"
    r"(?:\d{4}\s*)?remix(?:ed)?\s*(?:&|and)\s*remaster(?:ed)?(?:\s*\d{4})?|"
    r"mono|stereo|single\s*version|album\s*version|radio\s*edit|original\s*mix|from\s*[^)\]]*"
)
_BRACKETED_NOISE = re.compile(rf"[\(\[\{{]\s*(?:{_NOISE_WORDS})\s*[\)\]\}}]", re.IGNORECASE)
_DASHED_NOISE = re.compile(rf"\s+-\s+(?:{_NOISE_WORDS})\s*$", re.IGNORECASE)
_TRAILING_NOISE = re.compile(r"\s+(?:hd|hq|4k|official\s*(?:music\s*)?video|official\s*audio|lyrics?)\s*$", re.I)
_FEAT = re.compile(
    r"\s*[\(\[]\s*(?:feat|ft|featuring|with)\b\.?\s+[^\)\]]*[\)\]]|\s+(?:feat|ft|featuring)\b\.?\s+.*$", re.IGNORECASE
)
_FEAT_ARTIST = re.compile(r"\s+(?:feat|ft|featuring)\b\.?\s+.*$", re.IGNORECASE)
_LIVE = re.compile(r"[\(\[]\s*live\b[^\)\]]*[\)\]]|\s-\s*live\b.*$|\blive\s+(?:at|in|from)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """The shared match key (`infra.textfold.match_key`): the form strings are compared in."""
    return match_key(text)


def _tidy(text: str) -> str:
    return display_key(text).strip(" -|")


def split_artist_prefix(title: str, artist: str | None) -> tuple[str | None, str]:
    """ "Artist - Title" as one string: return (artist, title). Only split when the prefix is the given artist or no
    artist was given, so "Jay-Z" or "Anti-Hero" are never cut."""
    text = _tidy(title)
    parts = re.split(r"\s+-\s+", text, maxsplit=1)
    if len(parts) != 2:
        return artist, text
    prefix, rest = parts
    if artist is None or not artist.strip():
        return prefix, rest
    if fold(prefix) == fold(artist) or fold(_FEAT_ARTIST.sub("", prefix)) == fold(_FEAT_ARTIST.sub("", artist)):
        return artist, rest
    return artist, text


def clean_title(title: str) -> str:
    """Drop video/format/re-issue noise and featured artists; keep version words that name another recording
    (live, acoustic, remix with a name)."""
    text = _tidy(title)
    for _ in range(3):  # noise can be stacked: "Song (Remastered 2011) [Official Video] HD"
        before = text
        text = _BRACKETED_NOISE.sub("", text)
        text = _DASHED_NOISE.sub("", text)
        text = _TRAILING_NOISE.sub("", text)
        text = _FEAT.sub("", text)
        text = _SPACES.sub(" ", text).strip(" -|")
        if text == before:
            break
    return text or _tidy(title)


def clean_artist(artist: str) -> str:
    """The main artist(s) without the featured ones: "A feat. B" → "A"."""
    text = _tidy(artist)
    return _FEAT_ARTIST.sub("", text).strip() or text


def is_live(text: str) -> bool:
    return bool(_LIVE.search(text))


_LIVE_ALBUM = re.compile(r"\b(live|unplugged|in concert)\b")


def looks_like_live_album(title: str) -> bool:
    return bool(_LIVE_ALBUM.search(fold(title)))


def _without_article(folded: str) -> str:
    for article in ("the ", "a ", "an ", "die ", "les ", "le ", "la ", "los ", "el "):
        if folded.startswith(article):
            return folded[len(article) :]
    if folded.endswith(" the"):  # "Beatles, The" folds to "beatles the"
        return folded[: -len(" the")]
    return folded


def artist_variants(name: str, sort_name: str | None = None, aliases: tuple[str, ...] = ()) -> set[str]:
    """Folded forms an artist may be written as: the name, without article, sort name flipped, aliases."""
    forms = {name, *aliases}
    if sort_name:
        forms.add(sort_name)
        if "," in sort_name:
            last, _, first = sort_name.partition(",")
            forms.add(f"{first.strip()} {last.strip()}")
    out: set[str] = set()
    for form in forms:
        folded = fold(form)
        if folded:
            out.add(folded)
            out.add(_without_article(folded))
    return out


class CleanText:
    """Namespace for the comparison key of a title: folded, brackets removed."""

    _BRACKETS = re.compile(r"[\(\[][^\)\]]*[\)\]]")

    @classmethod
    def core(cls, title: str) -> str:
        return fold(cls._BRACKETS.sub(" ", clean_title(title))) or fold(title)


def similarity(a: str, b: str) -> float:
    """0..1 similarity of two folded strings; word order matters a little, spelling slips little."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    ratio = SequenceMatcher(None, a, b).ratio()
    ta, tb = set(a.split()), set(b.split())
    jaccard = len(ta & tb) / len(ta | tb) if ta | tb else 0.0
    return max(ratio, jaccard)


def title_similarity(a: str, b: str) -> float:
    """Similarity of two titles' comparison keys, or of their Latin transliterations when that is closer: a store
    may spell "Группа крови" as "Gruppa krovi"."""
    ka, kb = CleanText.core(a), CleanText.core(b)
    direct = similarity(ka, kb)
    if direct >= 1.0 or (ka.isascii() and kb.isascii()):
        return direct
    return max(direct, similarity(translit_key(ka), translit_key(kb)))
