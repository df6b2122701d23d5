"""The library browser's answers in the HTTP shapes of `/api/library/…` and the web UI's library pages."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

from ..adapters.library import Album, Artist
from ..browse import Found, LibraryBrowser, MarkedSong, Page, Totals
from ..readmodel.queries import Scope
from ..readmodel.rows import TrackRow
from .library_schemas import (
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

__all__ = ["LibraryOut", "cover_url", "stream_url"]


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


def _link(row: TrackRow | None) -> PipelineLinkOut | None:
    if row is None:
        return None
    return PipelineLinkOut(track_id=row.id, url=f"/tracks/{quote(row.id, safe='')}", user=row.user)


def _track(marked: MarkedSong) -> LibraryTrackOut:
    s = marked.song
    return LibraryTrackOut(
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
        pipeline=_link(marked.journey),
        starred=s.starred,
        rating=s.rating,
        stream_url=stream_url(s.id),
    )


class LibraryOut:
    """`LibraryBrowser` with every answer mapped to its HTTP schema."""

    def __init__(self, browser: LibraryBrowser) -> None:
        self.browser = browser

    @property
    def source(self) -> Source:
        return cast(Source, self.browser.source)

    async def artists(self, scope: Scope, offset: int, limit: int) -> LibraryArtistPageOut:
        page: Page[Artist] = await self.browser.artists(scope, offset, limit)
        items = [_artist(a) for a in page.items]
        return LibraryArtistPageOut(source=self.source, items=items, total=page.total or 0, offset=offset, limit=limit)

    async def artist(self, scope: Scope, artist_id: str) -> LibraryAlbumsOfArtistOut:
        artist, albums = await self.browser.artist(scope, artist_id)
        return LibraryAlbumsOfArtistOut(source=self.source, artist=_artist(artist), albums=[_album(a) for a in albums])

    async def albums(
        self, scope: Scope, order: str, offset: int, limit: int, *, genre: str | None = None, year: int | None = None
    ) -> LibraryAlbumPageOut:
        page = await self.browser.albums(scope, order, offset, limit, genre=genre, year=year)
        return LibraryAlbumPageOut(
            source=self.source,
            items=[_album(a) for a in page.items],
            offset=offset,
            limit=limit,
            next_offset=page.next_offset,
        )

    async def totals(self, scope: Scope) -> LibraryTotalsOut:
        t: Totals = await self.browser.totals(scope)
        return LibraryTotalsOut(
            source=self.source,
            artists=t.artists,
            albums=t.albums,
            tracks=t.tracks,
            genres=[LibraryGenreOut(name=g.name, album_count=g.album_count, song_count=g.song_count) for g in t.genres],
        )

    async def album(self, scope: Scope, album_id: str) -> LibraryAlbumDetailOut:
        album, tracks = await self.browser.album(scope, album_id)
        return LibraryAlbumDetailOut(
            **_album(album).model_dump(), source=self.source, tracks=[_track(t) for t in tracks]
        )

    async def tracks(self, scope: Scope, query: str, offset: int, limit: int) -> LibraryTrackPageOut:
        page = await self.browser.tracks(scope, query, offset, limit)
        return LibraryTrackPageOut(
            source=self.source,
            items=[_track(t) for t in page.items],
            offset=offset,
            limit=limit,
            next_offset=page.next_offset,
        )

    async def search(self, scope: Scope, query: str, limit: int) -> LibrarySearchOut:
        found: Found = await self.browser.search(scope, query, limit)
        return LibrarySearchOut(
            source=self.source,
            query=found.query,
            artists=[_artist(a) for a in found.artists],
            albums=[_album(a) for a in found.albums],
            tracks=[_track(t) for t in found.tracks],
        )
