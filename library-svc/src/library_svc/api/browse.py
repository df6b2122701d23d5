"""System, browsing, lists and search endpoints: parse params → read the catalog → shape the response."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .fastxml import AlbumItem, SongItem
from .reads import ALBUM_LIST_TYPES, parse_query
from .render import SubsonicError
from .request import ApiContext, Endpoint, Reply, Request
from .shapes import album_child, album_id3, artist_id3, song

__all__ = ["ENDPOINTS", "IGNORED_ARTICLES", "index_of"]

IGNORED_ARTICLES = "The El La Los Las Le Les"
# SQLite steps a word search may take on the event loop: a common word's page takes 1-5 thousand steps per
# table (a few hundred index entries); a word nothing has walks the whole sort index (500 thousand steps, about
# 0.3 s, over 100k tracks) and is redone in a worker thread
_WORD_SEARCH_STEPS = 50_000
_EXTENSIONS = [
    {"name": "formPost", "versions": [1]},
    {"name": "songLyrics", "versions": [1]},
    {"name": "transcodeOffset", "versions": [1]},
]


def index_of(artists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for artist in artists:
        first = (artist.get("sortName") or artist["name"] or "#")[:1].upper()
        groups.setdefault(first if first.isalpha() else "#", []).append(artist)
    return [{"name": k, "artist": v} for k, v in sorted(groups.items())]


async def ping(ctx: ApiContext, req: Request) -> Reply:
    return {}


async def get_license(ctx: ApiContext, req: Request) -> Reply:
    return {"license": {"valid": True, "email": "", "licenseExpires": None}}


async def get_extensions(ctx: ApiContext, req: Request) -> Reply:
    return {"openSubsonicExtensions": _EXTENSIONS}


async def get_user(ctx: ApiContext, req: Request) -> Reply:
    name = req.get("username") or req.user
    if name != req.user:
        raise SubsonicError(50, "Only your own user can be read")
    roles = {
        "scrobblingEnabled": True,
        "adminRole": False,
        "settingsRole": True,
        "downloadRole": True,
        "uploadRole": False,
        "playlistRole": True,
        "coverArtRole": True,
        "commentRole": False,
        "podcastRole": False,
        "streamRole": True,
        "jukeboxRole": False,
        "shareRole": False,
        "videoConversionRole": False,
    }
    return {"user": {"username": name, "email": "", **roles, "folder": [1]}}


async def get_scan_status(ctx: ApiContext, req: Request) -> Reply:
    return {"scanStatus": {"scanning": ctx.scanner.scanning, "count": ctx.scanner.count}}


async def start_scan(ctx: ApiContext, req: Request) -> Reply:
    if not ctx.scanner.scanning:
        task = asyncio.create_task(ctx.scanner.scan(full=req.flag("fullScan", False)), name="api scan")
        _background.add(task)
        task.add_done_callback(_background.discard)
        await asyncio.sleep(0)  # let the scan mark itself as running before answering
    return {"scanStatus": {"scanning": True, "count": ctx.scanner.count}}


_background: set[asyncio.Task[Any]] = set()


async def get_music_folders(ctx: ApiContext, req: Request) -> Reply:
    return {"musicFolders": {"musicFolder": [{"id": 1, "name": "Music"}]}}


async def _artists(ctx: ApiContext, req: Request) -> list[dict[str, Any]]:
    rows, state = await ctx.with_state(req.user, ctx.reader.artists, bounded=False)
    return [artist_id3(r, state) for r in rows]


async def get_artists(ctx: ApiContext, req: Request) -> Reply:
    async def build() -> dict[str, Any]:
        artists = await _artists(ctx, req)
        return {"artists": {"ignoredArticles": IGNORED_ARTICLES, "index": index_of(artists)}}

    return await ctx.cached(req, build)


async def get_indexes(ctx: ApiContext, req: Request) -> Reply:
    async def build() -> dict[str, Any]:
        artists = await _artists(ctx, req)
        return {
            "indexes": {
                "lastModified": int(time.time() * 1000),
                "ignoredArticles": IGNORED_ARTICLES,
                "index": index_of(artists),
            }
        }

    return await ctx.cached(req, build)


async def get_artist(ctx: ApiContext, req: Request) -> Reply:
    artist_id = req.need("id")
    artist = await ctx.read(ctx.reader.artist, artist_id)
    if artist is None:
        raise SubsonicError(70, "Artist not found")
    albums = await ctx.read(ctx.reader.artist_albums, artist_id)
    state = await ctx.read(ctx.reader.user_state, req.user, [artist_id, *[a.id for a in albums]])
    return {"artist": {**artist_id3(artist, state), "album": [album_id3(a, state) for a in albums]}}


async def _album_and_songs(ctx: ApiContext, req: Request, album_id: str) -> tuple[Any, list[Any], Any]:
    rows, state = await ctx.with_state(req.user, ctx.reader.album_with_tracks, album_id)
    if not rows:
        raise SubsonicError(70, "Album not found")
    return rows[0], rows[1:], state


async def get_album(ctx: ApiContext, req: Request) -> Reply:
    album, tracks, state = await _album_and_songs(ctx, req, req.need("id"))
    return {"album": {**album_id3(album, state), "song": [SongItem(t, state) for t in tracks]}}


async def get_song(ctx: ApiContext, req: Request) -> Reply:
    track = await ctx.read(ctx.reader.track, req.need("id"))
    if track is None:
        raise SubsonicError(70, "Song not found")
    state = await ctx.read(ctx.reader.user_state, req.user, [track.id])
    return {"song": song(track, state)}


async def get_music_directory(ctx: ApiContext, req: Request) -> Reply:
    """Folder browsing over the tag hierarchy, as Navidrome does: artist → albums → songs."""
    item_id = req.need("id")
    artist = await ctx.read(ctx.reader.artist, item_id)
    if artist is not None:
        albums = await ctx.read(ctx.reader.artist_albums, item_id)
        state = await ctx.read(ctx.reader.user_state, req.user, [a.id for a in albums])
        return {"directory": {"id": artist.id, "name": artist.name, "child": [album_child(a, state) for a in albums]}}
    album, tracks, state = await _album_and_songs(ctx, req, item_id)
    return {
        "directory": {
            "id": album.id,
            "parent": album.artist_id,
            "name": album.name,
            "child": [song(t, state) for t in tracks],
        }
    }


async def _album_list(ctx: ApiContext, req: Request) -> tuple[list[Any], Any]:
    kind = req.need("type")
    if kind not in ALBUM_LIST_TYPES:
        raise SubsonicError(0, f"Unknown list type {kind}")
    opts: dict[str, Any] = {}
    if kind == "byYear":
        opts = {"from_year": int(req.need("fromYear")), "to_year": int(req.need("toYear"))}
    elif kind == "byGenre":
        opts = {"genre": req.need("genre")}
    size = req.num("size", 10, lo=1, hi=500)
    offset = req.num("offset", 0)
    return await ctx.with_state(req.user, ctx.reader.album_list, req.user, kind, size, offset, **opts)


async def get_album_list2(ctx: ApiContext, req: Request) -> Reply:
    rows, state = await _album_list(ctx, req)
    return {"albumList2": {"album": [AlbumItem(r, state) for r in rows]}}


async def get_album_list(ctx: ApiContext, req: Request) -> Reply:
    rows, state = await _album_list(ctx, req)
    return {"albumList": {"album": [album_child(r, state) for r in rows]}}


async def get_random_songs(ctx: ApiContext, req: Request) -> Reply:
    rows, state = await ctx.with_state(
        req.user,
        ctx.reader.random_songs,
        req.num("size", 10, lo=1, hi=500),
        req.get("genre"),
        req.opt_int("fromYear"),
        req.opt_int("toYear"),
        bounded=False,
    )
    return {"randomSongs": {"song": [song(r, state) for r in rows]}}


async def get_songs_by_genre(ctx: ApiContext, req: Request) -> Reply:
    rows, state = await ctx.with_state(
        req.user,
        ctx.reader.songs_by_genre,
        req.need("genre"),
        req.num("count", 10, lo=1, hi=500),
        req.num("offset", 0),
        bounded=False,
    )
    return {"songsByGenre": {"song": [song(r, state) for r in rows]}}


async def get_genres(ctx: ApiContext, req: Request) -> Reply:
    rows = await ctx.read(ctx.reader.genres)
    return {
        "genres": {"genre": [{"songCount": r.song_count, "albumCount": r.album_count, "value": r.name} for r in rows]}
    }


async def _search(ctx: ApiContext, req: Request) -> tuple[list[Any], list[Any], list[Any], Any]:
    words = parse_query(req.get("query"))
    counts = (
        req.num("artistCount", 20, hi=1000),
        req.num("albumCount", 20, hi=1000),
        req.num("songCount", 20, hi=1000),
    )
    offsets = (req.num("artistOffset", 0), req.num("albumOffset", 0), req.num("songOffset", 0))
    # a word search usually finds its page within a few hundred index entries, but one for a word nothing has
    # walks the whole sort index: tried inline with a small budget, else in a worker thread. An empty query seeks
    # through its paging marks once they are built (they are built in a worker thread).
    bounded = not words and ctx.reader.marks_ready(counts)
    budget = _WORD_SEARCH_STEPS if words else None
    found, state = await ctx.with_state(
        req.user, ctx.reader.search_flat, words, counts, offsets, bounded=bounded, budget=budget
    )
    artists, albums, songs = found
    return artists, albums, songs, state


async def search3(ctx: ApiContext, req: Request) -> Reply:
    artists, albums, songs, st = await _search(ctx, req)
    return {
        "searchResult3": {
            "artist": [artist_id3(r, st) for r in artists],
            "album": [AlbumItem(r, st) for r in albums],
            "song": [SongItem(r, st) for r in songs],
        }
    }


async def search2(ctx: ApiContext, req: Request) -> Reply:
    artists, albums, songs, st = await _search(ctx, req)
    return {
        "searchResult2": {
            "artist": [artist_id3(r, st) for r in artists],
            "album": [album_child(r, st) for r in albums],
            "song": [SongItem(r, st) for r in songs],
        }
    }


ENDPOINTS: dict[str, Endpoint] = {
    "ping": ping,
    "getLicense": get_license,
    "getOpenSubsonicExtensions": get_extensions,
    "getUser": get_user,
    "getScanStatus": get_scan_status,
    "startScan": start_scan,
    "getMusicFolders": get_music_folders,
    "getArtists": get_artists,
    "getArtist": get_artist,
    "getAlbum": get_album,
    "getSong": get_song,
    "getIndexes": get_indexes,
    "getMusicDirectory": get_music_directory,
    "getAlbumList2": get_album_list2,
    "getAlbumList": get_album_list,
    "getRandomSongs": get_random_songs,
    "getSongsByGenre": get_songs_by_genre,
    "getGenres": get_genres,
    "search3": search3,
    "search2": search2,
}
