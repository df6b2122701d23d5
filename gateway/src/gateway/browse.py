"""Use case: browse the library as the Subsonic upstream serves it, marking what the pipeline brought in.

The library is the one every Subsonic client of this server sees, so it is the same for every user. What is personal
is the mark: a track links to its journey only when the asking user may see that journey (their own requests and the
system's runs; an administrator sees all).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Generic, TypeVar

from .adapters.library import Album, Artist, Genre, Song, SubsonicLibrary
from .readmodel.queries import Scope, View
from .readmodel.rows import TrackRow

__all__ = ["SORTS", "Found", "LibraryBrowser", "MarkedSong", "Page", "Totals"]

T = TypeVar("T")

SORTS = {
    "name": "alphabeticalByName",
    "artist": "alphabeticalByArtist",
    "year": "byYear",
    "added": "newest",
    "played": "frequent",
}
"""The web UI's sorts → getAlbumList2 types (the other types are accepted as they are)."""


@dataclass(frozen=True)
class MarkedSong:
    """A library song, with the journey that brought it in when the asking user may see that journey."""

    song: Song
    journey: TrackRow | None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    offset: int
    limit: int
    total: int | None = None
    next_offset: int | None = None


@dataclass(frozen=True)
class Totals:
    artists: int
    albums: int
    tracks: int | None
    genres: list[Genre]


@dataclass(frozen=True)
class Found:
    query: str
    artists: list[Artist]
    albums: list[Album]
    tracks: list[MarkedSong]


class LibraryBrowser:
    def __init__(self, library: SubsonicLibrary, view: View) -> None:
        self._library, self._view = library, view

    @property
    def source(self) -> str:
        """Which server answers `/rest`: "navidrome" or "library-svc"."""
        return "navidrome" if self._library.source == "navidrome" else "library-svc"

    async def artists(self, scope: Scope, offset: int, limit: int) -> Page[Artist]:
        # getArtists has no paging: the whole index comes at once (both servers cache it), the page is cut here
        found = await self._library.artists(scope.username)
        return Page(found[offset : offset + limit], offset, limit, total=len(found))

    async def artist(self, scope: Scope, artist_id: str) -> tuple[Artist, list[Album]]:
        return await self._library.artist(scope.username, artist_id)

    async def albums(
        self, scope: Scope, order: str, offset: int, limit: int, *, genre: str | None = None, year: int | None = None
    ) -> Page[Album]:
        """A page of albums in `order`; a genre or a year filters instead (Subsonic lists those by name)."""
        kind, extra = SORTS.get(order, order), []
        if genre:
            kind, extra = "byGenre", [("genre", genre)]
        elif year is not None:
            kind, extra = "byYear", [("fromYear", str(year)), ("toYear", str(year))]
        elif kind == "byYear":
            extra = [("fromYear", "0"), ("toYear", "9999")]
        # one more than asked tells whether another page follows (getAlbumList2 gives no total)
        found = await self._library.albums(scope.username, kind, limit + 1, offset, extra)
        return Page(found[:limit], offset, limit, next_offset=offset + limit if len(found) > limit else None)

    async def totals(self, scope: Scope) -> Totals:
        artists, genres, tracks = await asyncio.gather(
            self._library.artists(scope.username),
            self._library.genres(scope.username),
            self._library.song_total(scope.username),
        )
        return Totals(len(artists), sum(a.album_count or 0 for a in artists), tracks, list(genres))

    async def album(self, scope: Scope, album_id: str) -> tuple[Album, list[MarkedSong]]:
        album, songs = await self._library.album(scope.username, album_id)
        return album, await self._marked(scope, songs)

    async def tracks(self, scope: Scope, query: str, offset: int, limit: int) -> Page[MarkedSong]:
        _, _, songs = await self._library.search(
            scope.username, query, artists=0, albums=0, songs=limit + 1, song_offset=offset
        )
        next_offset = offset + limit if len(songs) > limit else None
        return Page(await self._marked(scope, songs[:limit]), offset, limit, next_offset=next_offset)

    async def search(self, scope: Scope, query: str, limit: int) -> Found:
        artists, albums, songs = await self._library.search(
            scope.username, query, artists=limit, albums=limit, songs=limit
        )
        return Found(query, artists, albums, await self._marked(scope, songs))

    async def _marked(self, scope: Scope, songs: list[Song]) -> list[MarkedSong]:
        rows = await asyncio.to_thread(
            self._view.imported_matching,
            scope,
            library_ids=[s.id for s in songs],
            mbids=[s.recording_mbid for s in songs if s.recording_mbid],
            paths=[s.path for s in songs if s.path],
        )
        by_id = {r.library_track_id: r for r in rows if r.library_track_id}
        by_mbid = {r.recording_mbid: r for r in rows if r.recording_mbid}
        by_path = {r.path: r for r in rows if r.path}
        # the library's own id first; then the MBID (Navidrome has ids of its own); then the path
        return [
            MarkedSong(s, by_id.get(s.id) or by_mbid.get((s.recording_mbid or "").lower()) or by_path.get(s.path or ""))
            for s in songs
        ]
