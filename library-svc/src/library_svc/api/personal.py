"""Favourites, plays, playlists, play queue and lyrics endpoints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from contracts.library import ScrobbleRecorded

from ..adapters.files import PathEscapes, resolve_inside
from ..adapters.lyrics import read_lyrics
from .render import SubsonicError
from .request import ApiContext, Endpoint, Reply, Request
from .shapes import album_child, album_id3, artist_id3, rfc3339, song

__all__ = ["ENDPOINTS"]

_SCROBBLE_NS = uuid.UUID("3c9a4f0e-8f0b-5b9e-9c61-7d2b6a0f4e33")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def _track(ctx: ApiContext, track_id: str) -> Any:
    track = await ctx.read(ctx.reader.track, track_id)
    if track is None:
        raise SubsonicError(70, "Song not found")
    return track


def _file(ctx: ApiContext, relpath: str) -> Any:
    try:
        path = resolve_inside(ctx.root, relpath)
    except PathEscapes as exc:
        raise SubsonicError(70, "File not found") from exc
    if not path.is_file():
        raise SubsonicError(70, "The file is gone from the music folder; a scan will notice")
    return path


async def scrobble(ctx: ApiContext, req: Request) -> Reply:
    ids = req.all("id")
    if not ids:
        raise SubsonicError(10, "Required parameter is missing: id")
    times = req.all("time")
    submission = req.flag("submission", True)
    client = req.get("c")
    for i, track_id in enumerate(ids):
        track = await _track(ctx, track_id)
        when = datetime.fromtimestamp(int(times[i]) / 1000, UTC) if i < len(times) else _now()
        if not submission:
            ctx.now_playing[req.user] = {"track_id": track.id, "at": _now(), "player": client or ""}
            continue
        await ctx.run(ctx.store.record_play, req.user, track.id, track.album_id, when)
        mbid = _uuid(track.recording_mbid)
        await ctx.publish(
            ScrobbleRecorded(
                event_id=uuid.uuid5(_SCROBBLE_NS, f"{req.user}\x00{track.id}\x00{int(when.timestamp() * 1000)}"),
                user=req.user,
                track_id=track.id,
                played_at=when,
                recording_mbid=mbid,
                artist=track.artist,
                title=track.title,
                album=track.album,
                duration_ms=track.duration * 1000 if track.duration else None,
                client=client,
            )
        )
    return {}


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


async def _star_targets(ctx: ApiContext, req: Request) -> list[tuple[str, str]]:
    targets: list[tuple[str, str]] = []
    for item_id in req.all("id"):
        if await ctx.read(ctx.reader.track, item_id) is not None:
            targets.append((item_id, "song"))
        elif await ctx.read(ctx.reader.album, item_id) is not None:
            targets.append((item_id, "album"))
        elif await ctx.read(ctx.reader.artist, item_id) is not None:
            targets.append((item_id, "artist"))
        else:
            raise SubsonicError(70, f"Item {item_id} not found")
    targets += [(i, "album") for i in req.all("albumId")]
    targets += [(i, "artist") for i in req.all("artistId")]
    return targets


async def star(ctx: ApiContext, req: Request) -> Reply:
    await ctx.run(ctx.store.star, req.user, await _star_targets(ctx, req), _now())
    return {}


async def unstar(ctx: ApiContext, req: Request) -> Reply:
    await ctx.run(ctx.store.unstar, req.user, [*req.all("id"), *req.all("albumId"), *req.all("artistId")])
    return {}


async def set_rating(ctx: ApiContext, req: Request) -> Reply:
    rating = req.num("rating", -1, lo=-1)
    if req.get("rating") in (None, ""):
        raise SubsonicError(10, "Required parameter is missing: rating")
    if not 0 <= rating <= 5:
        raise SubsonicError(0, "rating must be 0 to 5")
    await ctx.run(ctx.store.set_rating, req.user, req.need("id"), rating)
    return {}


async def _starred(ctx: ApiContext, req: Request, *, id3: bool) -> dict[str, Any]:
    artists, albums, songs = await ctx.run(ctx.reader.starred, req.user)
    state = await ctx.run(ctx.reader.user_state, req.user, [r.id for r in (*artists, *albums, *songs)])
    album_shape = album_id3 if id3 else album_child  # getStarred lists albums as directory entries
    return {
        "artist": [artist_id3(r, state) for r in artists],
        "album": [album_shape(r, state) for r in albums],
        "song": [song(r, state) for r in songs],
    }


async def get_starred2(ctx: ApiContext, req: Request) -> Reply:
    return {"starred2": await _starred(ctx, req, id3=True)}


async def get_starred(ctx: ApiContext, req: Request) -> Reply:
    return {"starred": await _starred(ctx, req, id3=False)}


async def get_now_playing(ctx: ApiContext, req: Request) -> Reply:
    entries = []
    now = _now()
    for user, item in list(ctx.now_playing.items()):
        track = await ctx.read(ctx.reader.track, item["track_id"])
        if track is None:
            continue
        state = await ctx.run(ctx.reader.user_state, user, [track.id])
        minutes = int((now - item["at"]).total_seconds() // 60)
        entries.append(
            {**song(track, state), "username": user, "minutesAgo": minutes, "playerId": 0, "playerName": item["player"]}
        )
    return {"nowPlaying": {"entry": entries}}


async def _playlist_out(ctx: ApiContext, req: Request, playlist: Any, with_entries: bool) -> dict[str, Any]:
    tracks = await ctx.run(ctx.reader.tracks, playlist.track_ids)
    out: dict[str, Any] = {
        "id": playlist.id,
        "name": playlist.name,
        "comment": playlist.comment,
        "owner": playlist.owner,
        "public": playlist.public,
        "songCount": len(tracks),
        "duration": sum(t.duration for t in tracks),
        "created": rfc3339(playlist.created),
        "changed": rfc3339(playlist.changed),
        "coverArt": tracks[0].album_id if tracks else None,
    }
    if with_entries:
        state = await ctx.run(ctx.reader.user_state, req.user, [t.id for t in tracks])
        out["entry"] = [song(t, state) for t in tracks]
    return out


async def get_playlists(ctx: ApiContext, req: Request) -> Reply:
    visible = await ctx.run(ctx.store.playlists, req.user)
    return {"playlists": {"playlist": [await _playlist_out(ctx, req, p, False) for p in visible]}}


async def _own_playlist(ctx: ApiContext, req: Request, playlist_id: str, *, write: bool) -> Any:
    playlist = await ctx.run(ctx.store.playlist, playlist_id)
    if playlist is None or (playlist.owner != req.user and not playlist.public):
        raise SubsonicError(70, "Playlist not found")
    if write and playlist.owner != req.user:
        raise SubsonicError(50, "Only the owner may change a playlist")
    return playlist


async def get_playlist(ctx: ApiContext, req: Request) -> Reply:
    playlist = await _own_playlist(ctx, req, req.need("id"), write=False)
    return {"playlist": await _playlist_out(ctx, req, playlist, True)}


async def create_playlist(ctx: ApiContext, req: Request) -> Reply:
    songs = req.all("songId")
    existing = req.get("playlistId")
    if existing:
        await _own_playlist(ctx, req, existing, write=True)
        await ctx.run(ctx.store.replace_entries, existing, songs, _now())
        playlist_id = existing
    else:
        playlist_id = await ctx.run(ctx.store.create_playlist, req.user, req.need("name"), songs, _now())
    playlist = await ctx.run(ctx.store.playlist, playlist_id)
    return {"playlist": await _playlist_out(ctx, req, playlist, True)}


async def update_playlist(ctx: ApiContext, req: Request) -> Reply:
    playlist = await _own_playlist(ctx, req, req.need("playlistId"), write=True)
    fields: dict[str, Any] = {}
    if req.get("name") is not None:
        fields["name"] = req.get("name")
    if req.get("comment") is not None:
        fields["comment"] = req.get("comment")
    if req.get("public") is not None:
        fields["public"] = req.flag("public", False)
    if fields:
        await ctx.run(ctx.store.update_playlist, playlist.id, fields, _now())
    remove = {int(i) for i in req.all("songIndexToRemove") if i.lstrip("-").isdigit()}
    add = req.all("songIdToAdd")
    if remove or add:
        kept = [t for i, t in enumerate(playlist.track_ids) if i not in remove]
        await ctx.run(ctx.store.replace_entries, playlist.id, kept + add, _now())
    return {}


async def delete_playlist(ctx: ApiContext, req: Request) -> Reply:
    playlist = await _own_playlist(ctx, req, req.need("id"), write=True)
    await ctx.run(ctx.store.delete_playlist, playlist.id)
    return {}


async def get_play_queue(ctx: ApiContext, req: Request) -> Reply:
    queue = await ctx.run(ctx.store.play_queue, req.user)
    if queue is None:
        return {}
    tracks = await ctx.run(ctx.reader.tracks, queue.track_ids)
    state = await ctx.run(ctx.reader.user_state, req.user, [t.id for t in tracks])
    return {
        "playQueue": {
            "current": queue.current,
            "position": queue.position_ms,
            "username": req.user,
            "changed": rfc3339(queue.changed),
            "changedBy": queue.changed_by,
            "entry": [song(t, state) for t in tracks],
        }
    }


async def save_play_queue(ctx: ApiContext, req: Request) -> Reply:
    await ctx.run(
        ctx.store.save_play_queue,
        req.user,
        req.all("id"),
        req.get("current"),
        req.num("position", 0),
        req.get("c") or "",
        _now(),
    )
    return {}


async def get_lyrics(ctx: ApiContext, req: Request) -> Reply:
    artist, title = req.get("artist") or "", req.get("title") or ""
    track = await ctx.run(ctx.reader.track_by_artist_title, artist, title)
    text = await ctx.run(read_lyrics, _file(ctx, track.path)) if track is not None else None
    if track is None or text is None:
        return {"lyrics": {}}
    return {"lyrics": {"artist": track.artist, "title": track.title, "value": text}}


async def get_lyrics_by_song_id(ctx: ApiContext, req: Request) -> Reply:
    track = await _track(ctx, req.need("id"))
    text = await ctx.run(read_lyrics, _file(ctx, track.path))
    if not text:
        return {"lyricsList": {"structuredLyrics": []}}
    lines = [{"value": line} for line in text.splitlines()]
    lyric = {"displayArtist": track.artist, "displayTitle": track.title, "lang": "xxx", "synced": False, "line": lines}
    return {"lyricsList": {"structuredLyrics": [lyric]}}


ENDPOINTS: dict[str, Endpoint] = {
    "scrobble": scrobble,
    "star": star,
    "unstar": unstar,
    "setRating": set_rating,
    "getStarred2": get_starred2,
    "getStarred": get_starred,
    "getNowPlaying": get_now_playing,
    "getPlaylists": get_playlists,
    "getPlaylist": get_playlist,
    "createPlaylist": create_playlist,
    "updatePlaylist": update_playlist,
    "deletePlaylist": delete_playlist,
    "getPlayQueue": get_play_queue,
    "savePlayQueue": save_play_queue,
    "getLyrics": get_lyrics,
    "getLyricsBySongId": get_lyrics_by_song_id,
}
