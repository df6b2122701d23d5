"""Stable identifiers: the same library always gives the same ids, so a replay rebuilds the same catalog.

Names are folded by `infra.textfold.id_key` (version 1), shared with every service.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from functools import lru_cache

from infra.textfold import id_key

__all__ = ["album_id", "artist_id", "fold", "genre_key", "search_text", "sort_key", "track_id"]

_NS = uuid.UUID("6f1d8c1e-3b7a-5c55-9a43-6a1f0e6b2d10")
_ARTICLES = ("the ", "a ", "an ", "el ", "la ", "los ", "las ", "le ", "les ", "die ", "der ")
_ARTICLE_SET = frozenset(_ARTICLES)
_LONGEST_ARTICLE = max(map(len, _ARTICLES))


_NS_BYTES = _NS.bytes


def _id(kind: str, key: str) -> str:
    """`uuid5(_NS, f"{kind}:{key}").hex`, without building UUID objects (a replay makes one per track)."""
    digest = bytearray(hashlib.sha1(_NS_BYTES + f"{kind}:{key}".encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


def fold(text: str) -> str:
    """Casefolded, accents removed: what sorting and searching compare. The shared id key, version 1 (the rule these
    ids were always made with), so every id a client holds stays valid: no migration, no replay needed."""
    return id_key(text)


def track_id(relpath: str) -> str:
    """A track is a file: its id follows its path inside the library."""
    return _id("track", unicodedata.normalize("NFC", relpath))


@lru_cache(maxsize=1 << 16)  # names repeat across a library's tracks; a replay folds each often
def artist_id(name: str) -> str:
    return _id("artist", fold(name).strip())


@lru_cache(maxsize=1 << 16)  # names repeat across a library's tracks; a replay folds each often
def album_id(album_artist: str, album: str) -> str:
    return _id("album", f"{fold(album_artist).strip()}\x00{fold(album).strip()}")


@lru_cache(maxsize=1 << 16)  # names repeat across a library's tracks; a replay folds each often
def sort_key(name: str) -> str:
    """Sort without leading articles ("The Beatles" sorts under B), accent- and case-insensitive."""
    folded = fold(name).strip()
    # each article is one word and its space: only the first word can be one, so look that word up
    space = folded.find(" ", 0, _LONGEST_ARTICLE)
    if space >= 0 and folded[: space + 1] in _ARTICLE_SET and len(folded) > space + 1:
        return folded[space + 1 :]
    return folded


def genre_key(name: str) -> str:
    return name.strip()


def search_text(*parts: str | None) -> str:
    """Words of the given texts, folded, each preceded by a space: `LIKE '% word%'` is a word-prefix match."""
    words: list[str] = []
    for part in parts:
        if part:
            words.extend(_words(part))
    return " " + " ".join(words)


_ASCII_NON_ALNUM = {c: " " for c in range(128) if not chr(c).isalnum()}


@lru_cache(maxsize=1 << 16)
def _words(part: str) -> tuple[str, ...]:
    folded = fold(part)
    if folded.isascii():
        return tuple(folded.translate(_ASCII_NON_ALNUM).split())
    return tuple("".join(c if c.isalnum() else " " for c in folded).split())
