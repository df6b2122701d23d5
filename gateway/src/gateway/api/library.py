"""GET /api/library/…: the library as the Subsonic upstream serves it (scanned and imported alike), with covers.

The answers come from library-svc's built-in API or Navidrome, whichever `/rest` uses; the read model only adds the
link from a track to the journey that brought it in. Upstream trouble answers 503 (did not answer) or 502 (answered
wrongly) with a readable `detail`, never the upstream's address.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, PathParameter, QueryParameter

from ..adapters.library import LibraryUnavailable, SubsonicLibrary
from ..auth.guard import principal
from ..auth.users import Principal
from ..browse import LibraryBrowser
from ..readmodel.queries import Scope, View
from .library_schemas import (
    LibraryAlbumDetailOut,
    LibraryAlbumPageOut,
    LibraryAlbumsOfArtistOut,
    LibraryArtistPageOut,
    LibraryErrorOut,
    LibrarySearchOut,
    LibraryTrackPageOut,
)

__all__ = ["PLACEHOLDER_COVER", "LibraryController"]

log = logging.getLogger(__name__)

PLACEHOLDER_COVER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" fill="#2a2f3a"/>'
    b'<circle cx="50" cy="50" r="30" fill="#151821"/><circle cx="50" cy="50" r="6" fill="#6aa9ff"/></svg>'
)
_UPSTREAM_ERRORS = {
    502: ResponseSpec(LibraryErrorOut, description="The library server answered something unusable."),
    503: ResponseSpec(LibraryErrorOut, description="The library server did not answer."),
}
_NOT_FOUND = {404: ResponseSpec(LibraryErrorOut, description="No such item in the library.")}
Order = Literal[
    "alphabeticalByName",
    "alphabeticalByArtist",
    "newest",
    "recent",
    "frequent",
    "starred",
    "random",
    "name",
    "artist",
    "year",
    "added",
    "played",
]
Offset = Annotated[int, QueryParameter(ge=0, le=10_000_000, description="Items to skip.")]
Id = Annotated[str, PathParameter(min_length=1, max_length=200)]


def _scope(who: Principal) -> Scope:
    return Scope(who.username, who.is_admin)


def _placeholder() -> Response[bytes]:
    return Response(PLACEHOLDER_COVER, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})


class LibraryController(Controller):
    path = "/api/library"
    tags = ["library"]
    dependencies = {"who": Provide(principal)}

    @get(
        "/artists",
        operation_id="listLibraryArtists",
        summary="Artists of the library, by name, a page at a time",
        responses=_UPSTREAM_ERRORS,
    )
    async def artists(
        self,
        who: NamedDependency[Principal],
        state: State,
        offset: Offset = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> LibraryArtistPageOut:
        browser: LibraryBrowser = state.browser
        return await browser.artists(_scope(who), offset, limit)

    @get(
        "/artists/{artist_id:str}",
        operation_id="getLibraryArtist",
        summary="One artist and their albums",
        responses={**_UPSTREAM_ERRORS, **_NOT_FOUND},
    )
    async def artist(self, who: NamedDependency[Principal], state: State, artist_id: Id) -> LibraryAlbumsOfArtistOut:
        browser: LibraryBrowser = state.browser
        return await browser.artist(_scope(who), artist_id)

    @get(
        "/albums",
        operation_id="listLibraryAlbums",
        summary="Albums of the library, a page at a time (`next_offset` is null on the last page); `genre` or `year` "
        "filters (listed by name)",
        responses=_UPSTREAM_ERRORS,
    )
    async def albums(
        self,
        who: NamedDependency[Principal],
        state: State,
        offset: Offset = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 60,
        order: FromQuery[Order] = "alphabeticalByName",
        genre: Annotated[str | None, QueryParameter(min_length=1, max_length=200)] = None,
        year: Annotated[int | None, QueryParameter(ge=0, le=9999)] = None,
    ) -> LibraryAlbumPageOut:
        browser: LibraryBrowser = state.browser
        return await browser.albums(_scope(who), order, offset, limit, genre=genre, year=year)

    @get(
        "/albums/{album_id:str}",
        operation_id="getLibraryAlbum",
        summary="One album and its tracks; a track the pipeline brought in links to its journey",
        responses={**_UPSTREAM_ERRORS, **_NOT_FOUND},
    )
    async def album(self, who: NamedDependency[Principal], state: State, album_id: Id) -> LibraryAlbumDetailOut:
        browser: LibraryBrowser = state.browser
        return await browser.album(_scope(who), album_id)

    @get(
        "/tracks",
        operation_id="listLibraryTracks",
        summary="Tracks of the library matching `q` (all of them without), a page at a time",
        responses=_UPSTREAM_ERRORS,
    )
    async def tracks(
        self,
        who: NamedDependency[Principal],
        state: State,
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        offset: Offset = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> LibraryTrackPageOut:
        browser: LibraryBrowser = state.browser
        return await browser.tracks(_scope(who), q.strip(), offset, limit)

    @get(
        "/search",
        operation_id="searchLibrary",
        summary="Artists, albums and tracks matching `q`",
        responses=_UPSTREAM_ERRORS,
    )
    async def search(
        self,
        who: NamedDependency[Principal],
        state: State,
        q: Annotated[str, QueryParameter(min_length=1, max_length=200)],
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    ) -> LibrarySearchOut:
        browser: LibraryBrowser = state.browser
        return await browser.search(_scope(who), q.strip(), limit)

    @get(
        "/art/{cover_id:str}",
        operation_id="getLibraryArt",
        summary="A library item's cover, through the gateway (a placeholder image when it has none)",
        media_type="image/*",
        responses=_UPSTREAM_ERRORS,
    )
    async def art(
        self,
        who: NamedDependency[Principal],
        state: State,
        cover_id: Id,
        size: Annotated[int, QueryParameter(ge=16, le=1200)] = 300,
    ) -> Response[bytes]:
        library: SubsonicLibrary = state.library
        found = await library.cover(who.username, cover_id, size)
        if found is None:
            return _placeholder()
        # private: it was fetched with this user's session; a shared cache must not hand it to someone signed out
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "private, max-age=86400"})

    @get(
        "/cover/{track_id:str}",
        operation_id="getLibraryCover",
        summary="A track's cover (placeholder if none)",
        media_type="image/*",
    )
    async def cover(self, who: NamedDependency[Principal], track_id: FromPath[str], state: State) -> Response[bytes]:
        view: View = state.view
        row = view.track(Scope(who.username, who.is_admin), track_id)
        if row is None:
            raise NotFoundException(f"no track {track_id}")
        if row.library_track_id:
            library: SubsonicLibrary = state.library
            try:
                found = await library.cover(who.username, row.library_track_id, 300)
            except LibraryUnavailable as exc:
                found = None
                log.info("cover of %s unavailable upstream (%s); falling back", track_id, exc)
            if found is not None:
                return Response(found[0], media_type=found[1], headers={"Cache-Control": "private, max-age=86400"})
        if row.cover_url:
            return Response(b"", status_code=302, headers={"Location": row.cover_url, "Cache-Control": "no-store"})
        # not cached: the real cover usually arrives with the import, minutes after a page first asked
        return _placeholder()
