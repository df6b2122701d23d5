"""Stable identifiers: the same library always gives the same ids, so a replay rebuilds the same catalog."""

from __future__ import annotations

import unicodedata
import uuid

__all__ = ["album_id", "artist_id", "fold", "genre_key", "search_text", "sort_key", "track_id"]

_NS = uuid.UUID("6f1d8c1e-3b7a-5c55-9a43-6a1f0e6b2d10")
_ARTICLES = ("the ", "a ", "an ", "el ", "la ", "los ", "las ", "le ", "les ", "die ", "der ")


def _id(kind: str, key: str) -> str:
    return uuid.uuid5(_NS, f"{kind}:{key}").hex


def fold(text: str) -> str:
    """Casefolded, accents removed: what sorting and searching compare."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def track_id(relpath: str) -> str:
    """A track is a file: its id follows its path inside the library."""
    return _id("track", unicodedata.normalize("NFC", relpath))


def artist_id(name: str) -> str:
    return _id("artist", fold(name).strip())


def album_id(album_artist: str, album: str) -> str:
    return _id("album", f"{fold(album_artist).strip()}\x00{fold(album).strip()}")


def sort_key(name: str) -> str:
    """Sort without leading articles ("The Beatles" sorts under B), accent- and case-insensitive."""
    folded = fold(name).strip()
    for article in _ARTICLES:
        if folded.startswith(article) and len(folded) > len(article):
            return folded[len(article) :]
    return folded


def genre_key(name: str) -> str:
    return name.strip()


def search_text(*parts: str | None) -> str:
    """Words of the given texts, folded, each preceded by a space: `LIKE '% word%'` is a word-prefix match."""
    words: list[str] = []
    for part in parts:
        if part:
            words.extend("".join(c if c.isalnum() else " " for c in fold(part)).split())
    return " " + " ".join(words)
