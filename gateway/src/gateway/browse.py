"""Use case: browse the library as the Subsonic upstream serves it, marking what the pipeline brought in.

The library is the one every Subsonic client of this server sees, so it is the same for every user. What is personal
is the mark: a track links to its journey only when the asking user may see that journey (their own requests and the
system's runs; an administrator sees all).
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from .adapters.library import Album, Artist, Song, SubsonicLibrary
from .api.library_schemas import (
    LibraryAlbumDetailOut,
    LibraryAlbumOut,
    LibraryAlbumPageOut,
    LibraryAlbumsOfArtistOut,
    LibraryArtistOut,
    LibraryArtistPageOut,
    LibraryGenreOut,
    LibrarySearchOut,
    LibraryTotalsOut,
    LibraryTrackOut,
    LibraryTrackPageOut,
    PipelineLinkOut,
    Source,
)
from .readmodel.queries import Scope, View
from .readmodel.rows import TrackRow

__all__ = ["SORTS", "LibraryBrowser", "cover_url"]

SORTS = {
    "name": "alphabeticalByName",
    "artist": "alphabeticalByArtist",
    "year": "byYear",
    "added": "newest",
    "played": "frequent",
}
"""The web UI's sorts → getAlbumList2 types (the other types are accepted as they are)."""


def cover_url(cover_id: str) -> str:
    return "/api/library/art/" + quote(cover_id, safe="")


def stream_url(song_id: str) -> str:
    return "/api/library/stream/" + quote(song_id, safe="")


def _artist(a: Artist) -> LibraryArtistOut:
    return LibraryArtistOut(id=a.id, name=a.name, album_count=a.album_count, cover_url=cover_url(a.cover_id or a.id))


def _album(a: Album) -> LibraryAlbumOut:
    return LibraryAlbumOut(
        id=a.id,
        name=a.name,
        artist=a.artist,
        artist_id=a.artist_id,
        year=a.year,
        song_count=a.song_count,
        duration_s=a.duration_s,
        genre=a.genre,
        cover_url=cover_url(a.cover_id or a.id),
        starred=a.starred,
        rating=a.rating,
        play_count=a.play_count,
    )


class LibraryBrowser:
    def __init__(self, library: SubsonicLibrary, view: View) -> None:
        self._library, self._view = library, view

    @property
    def source(self) -> Source:
        return "navidrome" if self._library.source == "navidrome" else "library-svc"

    async def artists(self, scope: Scope, offset: int, limit: int) -> LibraryArtistPageOut:
        # getArtists has no paging: the whole index comes at once (both servers cache it), the page is cut here
        found = await self._library.artists(scope.username)
        return LibraryArtistPageOut(
            source=self.source,
            items=[_artist(a) for a in found[offset : offset + limit]],
            total=len(found),
            offset=offset,
            limit=limit,
        )

    async def artist(self, scope: Scope, artist_id: str) -> LibraryAlbumsOfArtistOut:
        artist, albums = await self._library.artist(scope.username, artist_id)
        return LibraryAlbumsOfArtistOut(source=self.source, artist=_artist(artist), albums=[_album(a) for a in albums])

    async def albums(
        self, scope: Scope, order: str, offset: int, limit: int, *, genre: str | None = None, year: int | None = None
    ) -> LibraryAlbumPageOut:
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
        return LibraryAlbumPageOut(
            source=self.source,
            items=[_album(a) for a in found[:limit]],
            offset=offset,
            limit=limit,
            next_offset=offset + limit if len(found) > limit else None,
        )

    async def totals(self, scope: Scope) -> LibraryTotalsOut:
        artists, genres, tracks = await asyncio.gather(
            self._library.artists(scope.username),
            self._library.genres(scope.username),
            self._library.song_total(scope.username),
        )
        return LibraryTotalsOut(
            source=self.source,
            artists=len(artists),
            albums=sum(a.album_count or 0 for a in artists),
            tracks=tracks,
            genres=[LibraryGenreOut(name=g.name, album_count=g.album_count, song_count=g.song_count) for g in genres],
        )

    async def album(self, scope: Scope, album_id: str) -> LibraryAlbumDetailOut:
        album, songs = await self._library.album(scope.username, album_id)
        return LibraryAlbumDetailOut(
            **_album(album).model_dump(), source=self.source, tracks=await self._tracks(scope, songs)
        )

    async def tracks(self, scope: Scope, query: str, offset: int, limit: int) -> LibraryTrackPageOut:
        _, _, songs = await self._library.search(
            scope.username, query, artists=0, albums=0, songs=limit + 1, song_offset=offset
        )
        return LibraryTrackPageOut(
            source=self.source,
            items=await self._tracks(scope, songs[:limit]),
            offset=offset,
            limit=limit,
            next_offset=offset + limit if len(songs) > limit else None,
        )

    async def search(self, scope: Scope, query: str, limit: int) -> LibrarySearchOut:
        artists, albums, songs = await self._library.search(
            scope.username, query, artists=limit, albums=limit, songs=limit
        )
        return LibrarySearchOut(
            source=self.source,
            query=query,
            artists=[_artist(a) for a in artists],
            albums=[_album(a) for a in albums],
            tracks=await self._tracks(scope, songs),
        )

    async def _tracks(self, scope: Scope, songs: list[Song]) -> list[LibraryTrackOut]:
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
        out = []
        for s in songs:
            # the library's own id first; then the MBID (Navidrome has ids of its own); then the path
            row = by_id.get(s.id) or by_mbid.get((s.recording_mbid or "").lower()) or by_path.get(s.path or "")
            out.append(
                LibraryTrackOut(
                    id=s.id,
                    title=s.title,
                    artist=s.artist,
                    artist_id=s.artist_id,
                    album=s.album,
                    album_id=s.album_id,
                    track_number=s.track_number,
                    disc_number=s.disc_number,
                    year=s.year,
                    duration_s=s.duration_s,
                    suffix=s.suffix,
                    path=s.path,
                    recording_mbid=s.recording_mbid,
                    cover_url=cover_url(s.cover_id or s.album_id or s.id),
                    pipeline=_link(row),
                    starred=s.starred,
                    rating=s.rating,
                    stream_url=stream_url(s.id),
                )
            )
        return out


def _link(row: TrackRow | None) -> PipelineLinkOut | None:
    if row is None:
        return None
    return PipelineLinkOut(track_id=row.id, url=f"/tracks/{quote(row.id, safe='')}", user=row.user)
