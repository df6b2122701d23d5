"""What a Subsonic read asks for, before any SQL: album list kinds and the words of a search."""

from __future__ import annotations

from .ids import fold

__all__ = ["ALBUM_LIST_TYPES", "parse_query"]

ALBUM_LIST_TYPES = (
    "random",
    "newest",
    "highest",
    "frequent",
    "recent",
    "alphabeticalByName",
    "alphabeticalByArtist",
    "starred",
    "byYear",
    "byGenre",
)


def parse_query(query: str | None) -> list[str]:
    """Words of a search; an empty query (or `""`, as some clients send) means everything."""
    text = (query or "").strip().strip('"').strip()
    return "".join(c if c.isalnum() else " " for c in fold(text)).split()
