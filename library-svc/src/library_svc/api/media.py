"""Media retrieval: `stream` (transcoded on request, see domain/transcoding.py), `download`, `getCoverArt`."""

from __future__ import annotations

import asyncio
from typing import Any

from ..adapters.covers import find_cover
from ..domain.transcoding import UnknownFormat, decide, rule_for
from ..media.covers import MAX_SIZE, resize
from ..media.transcoder import CONTENT_TYPES
from .personal import _file, _track
from .render import SubsonicError
from .request import ApiContext, BytesReply, Endpoint, FileReply, Reply, Request, StreamReply

__all__ = ["ENDPOINTS"]


async def stream(ctx: ApiContext, req: Request) -> Reply:
    track = await _track(ctx, req.need("id"))
    path = _file(ctx, track.path)
    media = ctx.media
    if media is None:
        return FileReply(path, track.content_type)
    rule = rule_for(media.rules(), req.user, req.get("c") or "")
    try:
        plan = decide(
            requested_format=req.get("format"),
            max_bitrate=req.num("maxBitRate", 0),
            offset_s=req.num("timeOffset", 0),
            suffix=track.suffix,
            file_kbps=track.bitrate,
            rule=rule,
            default_format=media.default_format,
        )
    except UnknownFormat as exc:
        raise SubsonicError(0, str(exc)) from exc
    if plan is None:
        return FileReply(path, track.content_type)
    transcoder = media.transcoder
    if transcoder.ffmpeg is None:
        raise SubsonicError(0, "Transcoding is not available on this server (no ffmpeg); ask for format=raw")
    name = transcoder.cache_name(track.id, track.mtime_ns, track.size, plan)
    ctype = CONTENT_TYPES[plan.format]
    cached = await ctx.run(transcoder.cache.get, name)
    if cached is not None:
        return FileReply(cached, ctype)
    duration = max(0, (track.duration or 0) - plan.offset_s)
    headers = (("x-content-duration", str(duration)),)
    if not req.flag("estimateContentLength", False):
        return StreamReply(transcoder.stream(path, plan, name), ctype, headers)
    # some players need a length up front: the tag plus what the bitrate makes of the duration left
    header = await transcoder.header(path, plan)
    length = len(header) + duration * plan.kbps * 125
    return StreamReply(transcoder.stream(path, plan, name, header), ctype, headers, length)


async def download(ctx: ApiContext, req: Request) -> Reply:
    """The original file, never transcoded (Subsonic: `download` is for keeping)."""
    track = await _track(ctx, req.need("id"))
    return FileReply(_file(ctx, track.path), track.content_type)


async def _cover_track(ctx: ApiContext, item_id: str) -> Any:
    album = await ctx.read(ctx.reader.album, item_id)
    if album is not None:
        track_id = album.cover_track_id
    else:
        artist_albums = await ctx.read(ctx.reader.artist_albums, item_id)
        track_id = artist_albums[0].cover_track_id if artist_albums else item_id
    track = await ctx.read(ctx.reader.track, track_id) if track_id else None
    if track is None:
        raise SubsonicError(70, "Cover art not found")
    return track


async def get_cover_art(ctx: ApiContext, req: Request) -> Reply:
    item_id = req.need("id")
    size = req.num("size", 0, lo=0, hi=MAX_SIZE)
    track = await _cover_track(ctx, item_id)
    covers = ctx.media.covers if ctx.media is not None and size > 0 else None
    if covers is not None and not covers.enabled:  # no disk for covers: resize every time, keep nothing
        data, mime = await _found(ctx, track)
        return BytesReply(*(await asyncio.to_thread(resize, data, mime, size)))
    name = ""
    if covers is not None:
        # the track's file identity is in the key: a retagged file (new embedded cover) gets a new entry
        name = covers.key(track.id, track.mtime_ns, track.size, size, suffix=".img")
        hit = await ctx.run(covers.get, name)
        if hit is not None:
            return FileReply(hit, await ctx.run(_sniff_file, hit))
    data, mime = await _found(ctx, track)
    if covers is None:
        return BytesReply(data, mime)
    data, mime = await asyncio.to_thread(resize, data, mime, size)
    await ctx.run(covers.put, name, data)
    return BytesReply(data, mime)


async def _found(ctx: ApiContext, track: Any) -> tuple[bytes, str]:
    found = await ctx.run(find_cover, _file(ctx, track.path))
    if found is None:
        raise SubsonicError(70, "Cover art not found")
    return found


def _sniff_file(path: Any) -> str:
    with open(path, "rb") as fh:
        head = fh.read(12)
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


ENDPOINTS: dict[str, Endpoint] = {
    "stream": stream,
    "download": download,
    "getCoverArt": get_cover_art,
}
