"""A loopback OpenSubsonic server that answers like library-svc's built-in API or like Navidrome.

As library-svc it trusts `X-Brainstream-User` and refuses a request without it; as Navidrome it checks the token+salt
of its own account and refuses anything else (the gateway must inject them). Both record what they saw.
"""

from __future__ import annotations

import hashlib
import json
import struct
import uuid
import zlib
from typing import Any

from contracts.common import AlbumSource, TrackMetadata
from tests.support.fakeweb import FakeWeb, Reply, Request

__all__ = ["AUDIO", "COVER_PNG", "FakeSubsonic", "roygbiv"]

AUDIO = bytes(range(256)) * 4096  # 1 MiB of recognisable bytes


def roygbiv(mbid: uuid.UUID, **extra: Any) -> TrackMetadata:
    """The track the gateway's tests request and follow, as resolve-svc would describe it."""
    return TrackMetadata(
        recording_mbid=mbid,
        title="Roygbiv",
        artist="Boards of Canada",
        album_artist="Boards of Canada",
        album="Music Has the Right to Children",
        album_source=AlbumSource.MUSICBRAINZ,
        **extra,
    )


def _png(size: int = 96) -> bytes:
    """A real PNG (a diagonal gradient), so a browser shows it as a cover."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\0" + b"".join(bytes((40 + x, 90 + y // 2, 160 + (x + y) // 4)) for x in range(size)) for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


COVER_PNG = _png()
ARTISTS = {
    "ignoredArticles": "The El La Los Las Le Les",
    "index": [{"name": "B", "artist": [{"id": "ar-1", "name": "Boards of Canada", "albumCount": 1}]}],
}
ALBUM = {
    "id": "al-1",
    "name": "Music Has the Right to Children",
    "artist": "Boards of Canada",
    "artistId": "ar-1",
    "songCount": 1,
    "duration": 322,
    "created": "2024-01-01T00:00:00Z",
    "song": [
        {
            "id": "tr-1",
            "parent": "al-1",
            "isDir": False,
            "title": "Roygbiv",
            "album": "Music Has the Right to Children",
            "artist": "Boards of Canada",
            "duration": 151,
            "musicBrainzId": "0f42ab32-22cd-4dcf-927b-a8d9a183d68b",
            "type": "music",
        }
    ],
}


class FakeSubsonic:
    def __init__(self, web: FakeWeb, *, navidrome: bool = False, user: str = "nd-admin", password: str = "nd-secret"):
        self.web, self.navidrome, self.user, self.password = web, navidrome, user, password
        self.scrobbles: list[dict[str, list[str]]] = []
        for name in (
            "ping",
            "getArtists",
            "getArtist",
            "getAlbum",
            "getAlbumList2",
            "search3",
            "getSong",
            "scrobble",
            "getOpenSubsonicExtensions",
            "stream",
            "download",
            "getCoverArt",
            "star",
            "unstar",
            "setRating",
            "getGenres",
            "getScanStatus",
        ):
            for suffix in ("", ".view"):
                for method in ("GET", "HEAD"):
                    web.route(method, f"/rest/{name}{suffix}", self._handler(name))

    @property
    def base_url(self) -> str:
        return self.web.base_url

    def _denied(self, req: Request) -> str | None:
        q = {k: v[0] for k, v in req.query.items()}
        if self.navidrome:
            if q.get("u") != self.user or not q.get("s"):
                return "Wrong username or password"
            want = hashlib.md5((self.password + q["s"]).encode()).hexdigest()
            return None if q.get("t") == want else "Wrong username or password"
        if "u" in q or "p" in q or "t" in q or "apiKey" in q:
            return "client credentials reached the library API"
        return None if req.header("x-brainstream-user") else "no X-Brainstream-User"

    @staticmethod
    def _ok(extra: dict[str, Any] | None = None) -> Reply:
        body = {
            "subsonic-response": {
                "status": "ok",
                "version": "1.16.1",
                "type": "fake",
                "serverVersion": "1",
                "openSubsonic": True,
                **(extra or {}),
            }
        }
        return Reply.raw(json.dumps(body).encode(), content_type="application/json")

    def _handler(self, name: str):  # type: ignore[no-untyped-def]
        def handle(req: Request) -> Reply:
            if name == "getOpenSubsonicExtensions":
                return self._ok({"openSubsonicExtensions": [{"name": "songLyrics", "versions": [1]}]})
            denied = self._denied(req)
            if denied:
                body = {
                    "subsonic-response": {
                        "status": "failed",
                        "version": "1.16.1",
                        "error": {"code": 40, "message": denied},
                    }
                }
                return Reply.raw(json.dumps(body).encode(), content_type="application/json")
            if name == "getArtists":
                return self._ok({"artists": ARTISTS})
            if name == "getAlbum":
                return self._ok({"album": ALBUM})
            if name == "getArtist":
                return self._ok({"artist": {**ARTISTS["index"][0]["artist"][0], "album": [_album_only()]}})
            if name == "getAlbumList2":
                offset = int(req.query.get("offset", ["0"])[0] or 0)
                return self._ok({"albumList2": {"album": [_album_only()][offset:]}})
            if name == "search3":
                # like Navidrome: keys with nothing found are left out
                offset = int(req.query.get("songOffset", ["0"])[0] or 0)
                return self._ok({"searchResult3": {"song": ALBUM["song"][offset:]}})
            if name == "getSong":
                return self._ok({"song": ALBUM["song"][0]})
            if name == "scrobble":
                self.scrobbles.append(req.query)
                return self._ok()
            if name in ("stream", "download"):
                return _ranged(req)
            if name == "getCoverArt":
                return Reply.raw(COVER_PNG, content_type="image/png")
            if name == "getGenres":
                return self._ok({"genres": {"genre": [{"value": "Electronic", "albumCount": 1, "songCount": 1}]}})
            if name == "getScanStatus":
                return self._ok({"scanStatus": {"scanning": False, "count": 1}})
            return self._ok()

        return handle


def _album_only() -> dict[str, Any]:
    return {k: v for k, v in ALBUM.items() if k != "song"}


def _ranged(req: Request) -> Reply:
    rng = req.header("range")
    headers = {"Accept-Ranges": "bytes"}
    if rng and rng.startswith("bytes="):
        start_s, _, end_s = rng[6:].partition("-")
        start = int(start_s)
        end = int(end_s) if end_s else len(AUDIO) - 1
        headers["Content-Range"] = f"bytes {start}-{end}/{len(AUDIO)}"
        return Reply(206, body=AUDIO[start : end + 1], content_type="audio/mpeg", headers=headers)
    return Reply(200, body=AUDIO, content_type="audio/mpeg", headers=headers)
