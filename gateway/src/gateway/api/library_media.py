"""Playing and marking the library from the web UI: the stream relay, stars, ratings, totals and genres.

The browser never holds Subsonic credentials: it plays `/api/library/stream/{id}` with its session, and the gateway
relays the upstream's `stream` signed in as `/rest` is (the same transcoding rules apply, so `format` and
`max_bitrate` work here too). Stars and ratings are the user's own, the ones every Subsonic client of theirs shows.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import PathParameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from ..adapters.library import SubsonicLibrary
from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.queries import Scope
from ..subsonic.scrobble import ScrobblePublisher
from ..subsonic.upstream import UpstreamChooser
from .library_out import LibraryOut
from .library_schemas import LibraryErrorOut, LibraryRatingIn, LibraryScrobbleIn, LibraryStarIn, LibraryTotalsOut

__all__ = ["LibraryMediaController"]

_ERRORS = {
    404: ResponseSpec(LibraryErrorOut, description="No such item in the library."),
    502: ResponseSpec(LibraryErrorOut, description="The library server answered something unusable."),
    503: ResponseSpec(LibraryErrorOut, description="The library server did not answer."),
}
Id = Annotated[str, PathParameter(min_length=1, max_length=200)]
_CHUNK = 64 * 1024


class LibraryMediaController(Controller):
    path = "/api/library"
    tags = ["library"]
    dependencies = {"who": Provide(principal)}

    @get(
        "/stream/{song_id:str}",
        operation_id="streamLibrarySong",
        summary="A song's audio for the browser's player (byte ranges pass through)",
        media_type="audio/*",
        responses=_ERRORS,
    )
    async def stream(
        self,
        who: NamedDependency[Principal],
        state: State,
        request: Request[Any, Any, Any],
        song_id: Id,
        format: Annotated[Literal["raw", "mp3", "opus", "aac"] | None, QueryParameter()] = None,
        max_bitrate: Annotated[int, QueryParameter(ge=0, le=2000)] = 0,
    ) -> Stream:
        library: SubsonicLibrary = state.library
        params = [("maxBitRate", str(max_bitrate))] + ([("format", format)] if format else [])
        resp, headers = await library.open_stream(who.username, song_id, params, request.headers.get("range"))

        async def body() -> AsyncIterator[bytes]:
            # closed early when the browser goes (seek, next track): the upstream, and its ffmpeg, stop with it
            try:
                async for chunk in resp.content.iter_chunked(_CHUNK):
                    yield chunk
            finally:
                resp.close()

        return Stream(
            body(),
            status_code=resp.status if resp.status in (200, 206, 416) else HTTP_200_OK,
            headers={**dict(headers), "Cache-Control": "private, no-store"},
            media_type=dict(headers).get("content-type", "application/octet-stream"),
        )

    @put(
        "/items/{item_id:str}/star",
        operation_id="starLibraryItem",
        summary="Star or unstar a song, album or artist, for the asking user",
        status_code=204,
        responses=_ERRORS,
    )
    async def star(self, who: NamedDependency[Principal], state: State, item_id: Id, data: LibraryStarIn) -> None:
        library: SubsonicLibrary = state.library
        await library.star(who.username, item_id, data.starred)

    @put(
        "/items/{item_id:str}/rating",
        operation_id="rateLibraryItem",
        summary="Rate a song, album or artist 1 to 5 (0 clears), for the asking user",
        status_code=204,
        responses=_ERRORS,
    )
    async def rating(self, who: NamedDependency[Principal], state: State, item_id: Id, data: LibraryRatingIn) -> None:
        library: SubsonicLibrary = state.library
        await library.rate(who.username, item_id, data.rating)

    @post(
        "/items/{song_id:str}/scrobble",
        operation_id="scrobbleLibrarySong",
        summary="The web player played a song (or is playing it now): a play for the user, as a client's scrobble",
        status_code=204,
        responses=_ERRORS,
    )
    async def scrobble(
        self, who: NamedDependency[Principal], state: State, song_id: Id, data: LibraryScrobbleIn
    ) -> None:
        library: SubsonicLibrary = state.library
        at_ms = int(time.time() * 1000)
        await library.scrobble(who.username, song_id, data.submission, at_ms)
        upstream = state.chooser.for_user(who.username) if isinstance(state.chooser, UpstreamChooser) else None
        if data.submission and upstream is not None and upstream.navidrome:
            # library-svc publishes its own plays; Navidrome's reach ingest through the gateway, as /rest's do
            scrobbles: ScrobblePublisher = state.scrobbles
            params = [("id", song_id), ("time", str(at_ms)), ("c", "brainstream-web")]
            await scrobbles(who.username, upstream, params, state.http())

    @get(
        "/totals",
        operation_id="getLibraryTotals",
        summary="How many artists, albums and tracks the library holds, and its genres",
        responses=_ERRORS,
    )
    async def totals(self, who: NamedDependency[Principal], state: State) -> LibraryTotalsOut:
        browser: LibraryOut = state.browser
        return await browser.totals(Scope(who.username, who.is_admin))
