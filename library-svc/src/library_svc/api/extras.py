"""Bookmarks, tokenInfo, internet radio, and the info endpoints (artist/album info, top and similar songs).

The info endpoints answer from the library and the info cache at once; whatever is not cached yet is fetched in
the background (see info/service.py) and shows up on a later call. Without an info service they answer empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .personal import _track
from .render import SubsonicError
from .request import ApiContext, Endpoint, Reply, Request
from .shapes import artist_id3, rfc3339, song

__all__ = ["ADMIN_HEADER", "ENDPOINTS"]

ADMIN_HEADER = "x-brainstream-admin"
"""Set to `1` by the gateway when the signed-in user is an administrator."""


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# bookmarks --------------------------------------------------------------------------------------------------------


async def get_bookmarks(ctx: ApiContext, req: Request) -> Reply:
    marks = await ctx.run(ctx.extras.bookmarks, req.user)
    tracks = {t.id: t for t in await ctx.run(ctx.reader.tracks, [b.track_id for b in marks])}
    state = await ctx.run(ctx.reader.user_state, req.user, list(tracks))
    out = [
        {
            "position": b.position_ms,
            "username": req.user,
            "comment": b.comment,
            "created": rfc3339(b.created),
            "changed": rfc3339(b.changed),
            "entry": song(tracks[b.track_id], state),
        }
        for b in marks
        if b.track_id in tracks  # a bookmark of a track that left the library is kept, not shown
    ]
    return {"bookmarks": {"bookmark": out}}


async def create_bookmark(ctx: ApiContext, req: Request) -> Reply:
    track = await _track(ctx, req.need("id"))
    req.need("position")
    position = req.num("position", 0, lo=0)
    if len(req.get("comment") or "") > 1000:
        raise SubsonicError(0, "comment must be at most 1000 characters")
    await ctx.run(ctx.extras.save_bookmark, req.user, track.id, position, req.get("comment") or "", _now())
    return {}


async def delete_bookmark(ctx: ApiContext, req: Request) -> Reply:
    if not await ctx.run(ctx.extras.delete_bookmark, req.user, req.need("id")):
        raise SubsonicError(70, "Bookmark not found")
    return {}


async def token_info(ctx: ApiContext, req: Request) -> Reply:
    # the gateway checked the API key and names its owner in the user header
    return {"tokenInfo": {"username": req.user}}


# internet radio ---------------------------------------------------------------------------------------------------


def _station_out(s: Any) -> dict[str, Any]:
    return {"id": s.id, "name": s.name, "streamUrl": s.stream_url, "homePageUrl": s.homepage_url}


def _url(req: Request, name: str, *, required: bool) -> str | None:
    value = req.need(name) if required else (req.get(name) or None)
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
        raise SubsonicError(0, f"{name} must be an http(s) URL")
    return value


def _admin(req: Request) -> None:
    if req.headers.get(ADMIN_HEADER) != "1":
        raise SubsonicError(50, "Only an administrator may change internet radio stations")


def _station_fields(req: Request) -> tuple[str, str, str | None]:
    name = req.need("name").strip()
    if not name or len(name) > 200:
        raise SubsonicError(0, "name must be 1 to 200 characters")
    stream_url = _url(req, "streamUrl", required=True)
    assert stream_url is not None
    return name, stream_url, _url(req, "homepageUrl", required=False)


async def get_stations(ctx: ApiContext, req: Request) -> Reply:
    stations = await ctx.run(ctx.extras.stations)
    return {"internetRadioStations": {"internetRadioStation": [_station_out(s) for s in stations]}}


async def create_station(ctx: ApiContext, req: Request) -> Reply:
    _admin(req)
    await ctx.run(ctx.extras.create_station, *_station_fields(req))
    return {}


async def update_station(ctx: ApiContext, req: Request) -> Reply:
    _admin(req)
    if not await ctx.run(ctx.extras.update_station, req.need("id"), *_station_fields(req)):
        raise SubsonicError(70, "Internet radio station not found")
    return {}


async def delete_station(ctx: ApiContext, req: Request) -> Reply:
    _admin(req)
    if not await ctx.run(ctx.extras.delete_station, req.need("id")):
        raise SubsonicError(70, "Internet radio station not found")
    return {}


# info -------------------------------------------------------------------------------------------------------------


async def _artist_of(ctx: ApiContext, item_id: str) -> Any:
    """The artist an id stands for: an artist, an album's artist or a song's artist."""
    artist = await ctx.read(ctx.reader.artist, item_id)
    if artist is not None:
        return artist
    album = await ctx.read(ctx.reader.album, item_id)
    track = None if album is not None else await ctx.read(ctx.reader.track, item_id)
    artist_id = album.artist_id if album is not None else track.artist_id if track is not None else None
    artist = await ctx.read(ctx.reader.artist, artist_id) if artist_id else None
    if artist is None:
        raise SubsonicError(70, "Artist not found")
    return artist


async def _similar_artists(ctx: ApiContext, artist: Any, count: int) -> list[Any]:
    radio = await ctx.info.service.cached("lb_radio", artist.name) or []
    mbids = [m for t in radio for m in t.get("artist_mbids", [])]
    found = await ctx.run(ctx.info.match.artists_by_mbid, mbids)
    return [a for a in found if a.id != artist.id][:count]


async def _artist_info(ctx: ApiContext, req: Request, key: str) -> Reply:
    artist = await _artist_of(ctx, req.need("id"))
    if ctx.info is None:
        return {key: {}}
    out: dict[str, Any] = {}
    if artist.mbid:
        facts = await ctx.info.service.cached("mb_artist", artist.mbid)
        out = dict(facts or {"musicBrainzId": artist.mbid})
    similar = await _similar_artists(ctx, artist, req.num("count", 20, lo=0, hi=100))
    state = await ctx.run(ctx.reader.user_state, req.user, [a.id for a in similar])
    out["similarArtist"] = [artist_id3(a, state) for a in similar]
    return {key: out}


async def get_artist_info2(ctx: ApiContext, req: Request) -> Reply:
    return await _artist_info(ctx, req, "artistInfo2")


async def get_artist_info(ctx: ApiContext, req: Request) -> Reply:
    return await _artist_info(ctx, req, "artistInfo")


async def get_album_info(ctx: ApiContext, req: Request) -> Reply:
    item_id = req.need("id")
    album = await ctx.read(ctx.reader.album, item_id)
    if album is None:
        track = await ctx.read(ctx.reader.track, item_id)
        album = await ctx.read(ctx.reader.album, track.album_id) if track is not None else None
    if album is None:
        raise SubsonicError(70, "Album not found")
    if ctx.info is None or not album.mbid:
        return {"albumInfo": {"musicBrainzId": album.mbid} if album.mbid else {}}
    facts = await ctx.info.service.cached("mb_release", album.mbid)
    return {"albumInfo": dict(facts or {"musicBrainzId": album.mbid})}


async def _songs(ctx: ApiContext, req: Request, wanted: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    rows = await ctx.run(ctx.info.match.tracks, wanted, count)
    state = await ctx.run(ctx.reader.user_state, req.user, [r.id for r in rows])
    return [song(r, state) for r in rows]


async def get_top_songs(ctx: ApiContext, req: Request) -> Reply:
    name = req.need("artist")
    count = req.num("count", 50, lo=1, hi=500)
    if ctx.info is None:
        return {"topSongs": {}}
    artist = await ctx.run(ctx.info.match.artist_by_name, name)
    if artist is None or not artist.mbid:
        return {"topSongs": {}}  # not in the library, or no MBID to ask ListenBrainz with
    top = await ctx.info.service.cached("lb_top", artist.mbid) or []
    return {"topSongs": {"song": await _songs(ctx, req, top, count)}}


async def _similar_songs(ctx: ApiContext, req: Request, key: str) -> Reply:
    artist = await _artist_of(ctx, req.need("id"))
    count = req.num("count", 50, lo=1, hi=500)
    if ctx.info is None:
        return {key: {}}
    radio = await ctx.info.service.cached("lb_radio", artist.name) or []
    return {key: {"song": await _songs(ctx, req, radio, count)}}


async def get_similar_songs2(ctx: ApiContext, req: Request) -> Reply:
    return await _similar_songs(ctx, req, "similarSongs2")


async def get_similar_songs(ctx: ApiContext, req: Request) -> Reply:
    return await _similar_songs(ctx, req, "similarSongs")


ENDPOINTS: dict[str, Endpoint] = {
    "getBookmarks": get_bookmarks,
    "createBookmark": create_bookmark,
    "deleteBookmark": delete_bookmark,
    "tokenInfo": token_info,
    "getInternetRadioStations": get_stations,
    "createInternetRadioStation": create_station,
    "updateInternetRadioStation": update_station,
    "deleteInternetRadioStation": delete_station,
    "getArtistInfo2": get_artist_info2,
    "getArtistInfo": get_artist_info,
    "getAlbumInfo2": get_album_info,
    "getAlbumInfo": get_album_info,
    "getTopSongs": get_top_songs,
    "getSimilarSongs2": get_similar_songs2,
    "getSimilarSongs": get_similar_songs,
}
