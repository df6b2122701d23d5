"""The library as the configured Subsonic upstream serves it (library-svc's built-in API or Navidrome).

Only standard Subsonic calls in JSON (getArtists, getArtist, getAlbumList2, getAlbum, search3, getCoverArt), so the
browser shows the same library whichever server is behind `/rest`: files the pipeline imported, and everything a
folder scan (or Navidrome's own scan) indexed. Servers leave out empty keys, so every field is read with a default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..subsonic.upstream import Upstream, UpstreamChooser

__all__ = [
    "ALBUM_ORDERS",
    "Album",
    "Artist",
    "Genre",
    "LibraryUnavailable",
    "NotInLibrary",
    "Song",
    "SubsonicLibrary",
]

log = logging.getLogger(__name__)

ALBUM_ORDERS = ("alphabeticalByName", "alphabeticalByArtist", "newest", "recent", "frequent", "starred", "random")
"""getAlbumList2 `type`s that need no further parameter."""
_STREAM_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges", "x-content-duration")
_CLIENT = "brainstream-web"
_NOT_FOUND = 70


class LibraryUnavailable(Exception):
    """The upstream did not answer (503) or answered something that is not a Subsonic answer (502)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NotInLibrary(LookupError):
    """The upstream answered Subsonic error 70: no such artist, album or cover."""


@dataclass(frozen=True)
class Artist:
    id: str
    name: str
    album_count: int | None
    cover_id: str | None


@dataclass(frozen=True)
class Album:
    id: str
    name: str
    artist: str | None
    artist_id: str | None
    year: int | None
    song_count: int | None
    duration_s: int | None
    genre: str | None
    cover_id: str | None
    starred: bool = False
    rating: int | None = None
    play_count: int | None = None


@dataclass(frozen=True)
class Song:
    id: str
    title: str
    artist: str | None
    artist_id: str | None
    album: str | None
    album_id: str | None
    track_number: int | None
    disc_number: int | None
    year: int | None
    duration_s: int | None
    suffix: str | None
    path: str | None
    recording_mbid: str | None
    cover_id: str | None
    starred: bool = False
    rating: int | None = None


@dataclass(frozen=True)
class Genre:
    name: str
    album_count: int
    song_count: int


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _list(value: Any) -> list[dict[str, Any]]:
    """A list of objects; some servers send a lone object where a list of one belongs."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def artist_of(d: dict[str, Any]) -> Artist:
    return Artist(
        str(d.get("id", "")), str(d.get("name") or "Unknown Artist"), _int(d.get("albumCount")), _str(d.get("coverArt"))
    )


def album_of(d: dict[str, Any]) -> Album:
    return Album(
        id=str(d.get("id", "")),
        name=str(d.get("name") or d.get("album") or d.get("title") or "Unknown Album"),
        artist=_str(d.get("artist")),
        artist_id=_str(d.get("artistId")),
        year=_int(d.get("year")),
        song_count=_int(d.get("songCount")),
        duration_s=_int(d.get("duration")),
        genre=_str(d.get("genre")),
        cover_id=_str(d.get("coverArt")),
        starred=bool(d.get("starred")),
        rating=_int(d.get("userRating")),
        play_count=_int(d.get("playCount")),
    )


def song_of(d: dict[str, Any]) -> Song:
    return Song(
        id=str(d.get("id", "")),
        title=str(d.get("title") or "Untitled"),
        artist=_str(d.get("artist")),
        artist_id=_str(d.get("artistId")),
        album=_str(d.get("album")),
        album_id=_str(d.get("albumId") or d.get("parent")),
        track_number=_int(d.get("track")),
        disc_number=_int(d.get("discNumber")),
        year=_int(d.get("year")),
        duration_s=_int(d.get("duration")),
        suffix=_str(d.get("suffix")),
        path=_str(d.get("path")),
        recording_mbid=_str(d.get("musicBrainzId")),
        cover_id=_str(d.get("coverArt")),
        starred=bool(d.get("starred")),
        rating=_int(d.get("userRating")),
    )


def _server(upstream: Upstream) -> str:
    return "Navidrome" if upstream.navidrome else "the built-in library API"


class SubsonicLibrary:
    """Reads of the library through the upstream `/rest` uses, signed in as `/rest` signs in (see upstream.py)."""

    def __init__(self, chooser: UpstreamChooser, http: Callable[[], aiohttp.ClientSession]) -> None:
        self._chooser, self._http = chooser, http

    @property
    def source(self) -> str:
        return "navidrome" if self._chooser.current().navidrome else "library-svc"

    async def artists(self, user: str) -> list[Artist]:
        body = await self._call(user, "getArtists")
        index = _list((body.get("artists") or {}).get("index"))
        return [artist_of(a) for group in index for a in _list(group.get("artist"))]

    async def artist(self, user: str, artist_id: str) -> tuple[Artist, list[Album]]:
        found = (await self._call(user, "getArtist", [("id", artist_id)])).get("artist") or {}
        return artist_of(found), [album_of(a) for a in _list(found.get("album"))]

    async def albums(
        self, user: str, order: str, size: int, offset: int, extra: list[tuple[str, str]] | None = None
    ) -> list[Album]:
        """getAlbumList2; `extra` carries what byGenre (genre) and byYear (fromYear, toYear) need."""
        params = [("type", order), ("size", str(size)), ("offset", str(offset)), *(extra or [])]
        body = await self._call(user, "getAlbumList2", params)
        return [album_of(a) for a in _list((body.get("albumList2") or {}).get("album"))]

    async def album(self, user: str, album_id: str) -> tuple[Album, list[Song]]:
        found = (await self._call(user, "getAlbum", [("id", album_id)])).get("album") or {}
        return album_of(found), [song_of(s) for s in _list(found.get("song"))]

    async def album_of_song(self, user: str, song_id: str) -> str | None:
        """The album a library song is on (`getSong`), for links to it."""
        found = (await self._call(user, "getSong", [("id", song_id)])).get("song") or {}
        album = found.get("albumId") or found.get("parent")
        return str(album) if album else None

    async def search(
        self, user: str, query: str, *, artists: int, albums: int, songs: int, song_offset: int = 0
    ) -> tuple[list[Artist], list[Album], list[Song]]:
        """search3; an empty query lists everything (both servers page through the whole library that way)."""
        params = [
            ("query", query),
            ("artistCount", str(artists)),
            ("albumCount", str(albums)),
            ("songCount", str(songs)),
            ("songOffset", str(song_offset)),
        ]
        found = (await self._call(user, "search3", params)).get("searchResult3") or {}
        return (
            [artist_of(a) for a in _list(found.get("artist"))][:artists],
            [album_of(a) for a in _list(found.get("album"))][:albums],
            [song_of(s) for s in _list(found.get("song"))][:songs],
        )

    async def genres(self, user: str) -> list[Genre]:
        found = _list((await self._call(user, "getGenres")).get("genres", {}).get("genre"))
        return [
            Genre(
                str(g.get("value") or g.get("name") or ""),
                _int(g.get("albumCount")) or 0,
                _int(g.get("songCount")) or 0,
            )
            for g in found
            if g.get("value") or g.get("name")
        ]

    async def song_total(self, user: str) -> int | None:
        """Tracks in the library, as getScanStatus counts them (both servers keep the number)."""
        return _int(((await self._call(user, "getScanStatus")).get("scanStatus") or {}).get("count"))

    async def star(self, user: str, item_id: str, starred: bool) -> None:
        await self._call(user, "star" if starred else "unstar", [("id", item_id)])

    async def scrobble(self, user: str, song_id: str, submission: bool, at_ms: int) -> None:
        flag = "true" if submission else "false"
        await self._call(user, "scrobble", [("id", song_id), ("submission", flag), ("time", str(at_ms))])

    async def rate(self, user: str, item_id: str, rating: int) -> None:
        await self._call(user, "setRating", [("id", item_id), ("rating", str(rating))])

    async def open_stream(
        self, user: str, song_id: str, params: list[tuple[str, str]], range_header: str | None
    ) -> tuple[aiohttp.ClientResponse, list[tuple[str, str]]]:
        """The upstream's `stream` answer, open, and the headers worth passing on; the caller releases it."""
        upstream = self._chooser.for_user(user)
        query = upstream.params([("id", song_id), *params, ("v", "1.16.1"), ("c", _CLIENT)])
        headers = self._headers(upstream, user)
        if range_header:
            headers["Range"] = range_header
        try:
            resp = await self._http().get(upstream.url("stream"), params=query, headers=headers)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("library upstream %s unreachable: %s", upstream.base_url, exc)
            raise LibraryUnavailable(
                503, f"The music library is unavailable right now ({_server(upstream)} did not answer)"
            ) from exc
        kind = resp.headers.get("content-type", "")
        if resp.status == 416:  # a range past the end: the browser's to handle, as from the library itself
            return resp, [(k, resp.headers[k]) for k in _STREAM_HEADERS if k in resp.headers]
        if resp.status >= 400 or not (kind.startswith("audio/") or kind.startswith("application/octet")):
            # a Subsonic error travels as HTTP 200 with a JSON or XML body
            body = await resp.read()
            resp.release()
            if b'"code":70' in body.replace(b" ", b"") or b'code="70"' in body:
                raise NotInLibrary(f"no song {song_id}")
            raise LibraryUnavailable(502, f"{_server(upstream)} did not stream {song_id} (HTTP {resp.status})")
        return resp, [(k, resp.headers[k]) for k in _STREAM_HEADERS if k in resp.headers]

    async def cover(self, user: str, cover_id: str, size: int) -> tuple[bytes, str] | None:
        """The image, or None when the upstream has none (it answers a Subsonic error instead of an image)."""
        upstream = self._chooser.for_user(user)
        params = upstream.params([("id", cover_id), ("size", str(size)), ("v", "1.16.1"), ("c", _CLIENT)])
        try:
            async with self._http().get(
                upstream.url("getCoverArt"), params=params, headers=self._headers(upstream, user)
            ) as resp:
                kind = resp.headers.get("content-type", "")
                if resp.status == 200 and kind.startswith("image/"):
                    return await resp.read(), kind
                if resp.status >= 500:
                    raise LibraryUnavailable(502, f"{_server(upstream)} answered HTTP {resp.status} for a cover")
                return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("library upstream %s unreachable: %s", upstream.base_url, exc)
            raise LibraryUnavailable(
                503, f"The music library is unavailable right now ({_server(upstream)} did not answer)"
            ) from exc

    @staticmethod
    def _headers(upstream: Upstream, user: str) -> dict[str, str]:
        # the shared session leaves decompression to whoever reads; these answers are read here, so ask for none
        return {**upstream.headers(user), "Accept-Encoding": "identity"}

    async def _call(self, user: str, method: str, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        upstream = self._chooser.for_user(user)
        query = upstream.params([*(params or []), ("f", "json"), ("v", "1.16.1"), ("c", _CLIENT)])
        server = _server(upstream)
        try:
            async with self._http().get(
                upstream.url(method), params=query, headers=self._headers(upstream, user)
            ) as resp:
                if resp.status != 200:
                    raise LibraryUnavailable(502, f"{server} answered HTTP {resp.status} to {method}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("library upstream %s unreachable: %s", upstream.base_url, exc)
            raise LibraryUnavailable(
                503, f"The music library is unavailable right now ({server} did not answer)"
            ) from exc
        except ValueError as exc:
            raise LibraryUnavailable(502, f"{server} did not answer {method} in JSON") from exc
        answer = body.get("subsonic-response") if isinstance(body, dict) else None
        if not isinstance(answer, dict):
            raise LibraryUnavailable(502, f"{server} did not answer {method} as a Subsonic server")
        if answer.get("status") != "ok":
            err = answer.get("error") or {}
            code, message = _int(err.get("code")), str(err.get("message") or "no message")
            if code == _NOT_FOUND:
                raise NotInLibrary(message)
            log.warning("library upstream %s refused %s: %s %s", upstream.base_url, method, code, message)
            raise LibraryUnavailable(502, f"{server} refused {method}: {message} (error {code})")
        return answer
