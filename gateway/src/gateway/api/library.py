"""GET /api/library/…: what the pipeline put into the library, by artist and album, with covers."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Annotated, Any

import aiohttp
from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.queries import Scope, View

__all__ = ["PLACEHOLDER_COVER", "LibraryController"]

log = logging.getLogger(__name__)

PLACEHOLDER_COVER = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" fill="#2a2f3a"/>'
    b'<circle cx="50" cy="50" r="30" fill="#151821"/><circle cx="50" cy="50" r="6" fill="#6aa9ff"/></svg>'
)


class LibraryController(Controller):
    path = "/api/library"
    tags = ["library"]
    dependencies = {"who": Provide(principal)}

    @get("/artists", operation_id="listLibraryArtists", summary="Album artists with their album and track counts")
    async def artists(self, who: Principal, state: State) -> list[dict[str, Any]]:
        view: View = state.view
        albums: dict[str, set[str]] = defaultdict(set)
        tracks: dict[str, int] = defaultdict(int)
        for t in view.library(Scope(who.username, who.is_admin)):
            name = t.album_artist or t.artist or "Unknown Artist"
            albums[name].add(t.album or "Unknown Album")
            tracks[name] += 1
        return [{"name": n, "albums": len(albums[n]), "tracks": tracks[n]} for n in sorted(albums, key=str.casefold)]

    @get("/albums", operation_id="listLibraryAlbums", summary="Albums, optionally of one album artist")
    async def albums(
        self, who: Principal, state: State, artist: Annotated[str | None, Parameter(max_length=500)] = None
    ) -> list[dict[str, Any]]:
        view: View = state.view
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for t in view.library(Scope(who.username, who.is_admin), artist=artist):
            key = (t.album_artist or t.artist or "Unknown Artist", t.album or "Unknown Album")
            entry = found.setdefault(
                key, {"artist": key[0], "album": key[1], "year": t.year, "tracks": 0, "cover_track_id": t.id}
            )
            entry["tracks"] += 1
        return list(found.values())

    @get("/tracks", operation_id="listLibraryTracks", summary="Tracks in the library, by artist and album")
    async def tracks(
        self,
        who: Principal,
        state: State,
        artist: Annotated[str | None, Parameter(max_length=500)] = None,
        album: Annotated[str | None, Parameter(max_length=500)] = None,
    ) -> list[dict[str, Any]]:
        view: View = state.view
        return [
            {
                "track_id": t.id,
                "library_track_id": t.library_track_id,
                "artist": t.artist,
                "title": t.title,
                "album": t.album,
                "album_artist": t.album_artist,
                "path": t.path,
                "recording_mbid": t.recording_mbid,
            }
            for t in view.library(Scope(who.username, who.is_admin), artist=artist, album=album)
        ]

    @get(
        "/cover/{track_id:str}",
        operation_id="getLibraryCover",
        summary="A track's cover (placeholder if none)",
        media_type="image/*",
    )
    async def cover(self, who: Principal, track_id: str, state: State) -> Response[bytes]:
        view: View = state.view
        row = view.track(Scope(who.username, who.is_admin), track_id)
        if row is None:
            raise NotFoundException(f"no track {track_id}")
        if row.library_track_id:
            upstream = state.chooser.current()
            try:
                async with state.http().get(
                    upstream.url("getCoverArt"),
                    params=upstream.params([("id", row.library_track_id), ("size", "300")]),
                    headers=upstream.headers(who.username),
                ) as resp:
                    kind = resp.headers.get("content-type", "")
                    if resp.status == 200 and kind.startswith("image/"):
                        return Response(await resp.read(), media_type=kind, headers={"Cache-Control": "max-age=86400"})
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("cover of %s unavailable upstream (%s); falling back", track_id, exc)
        if row.cover_url:
            return Response(b"", status_code=302, headers={"Location": row.cover_url, "Cache-Control": "no-store"})
        # not cached: the real cover usually arrives with the import, minutes after a page first asked
        return Response(PLACEHOLDER_COVER, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
