"""A loopback Navidrome with several accounts and real playlists: each call is signed in with one account's
token+salt, and a playlist belongs to the account that made it (as Navidrome's do: another user may read a public
one, never change it). Songs are "scanned" by the test when it says so. Answers follow the OpenSubsonic responses
(`playlists.playlist[]`, `playlist.entry[]`, `searchResult3.song[]`)."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.support.fakeweb import FakeWeb, Reply, Request

__all__ = ["FakeNavidrome", "Playlist"]


@dataclass
class Playlist:
    id: str
    name: str
    owner: str
    songs: list[str] = field(default_factory=list)
    public: bool = False
    writes: int = 0


class FakeNavidrome:
    def __init__(self, web: FakeWeb, accounts: dict[str, str]) -> None:
        self.web, self.accounts = web, dict(accounts)
        self.songs: dict[str, dict[str, Any]] = {}
        self.playlists: dict[str, Playlist] = {}
        self.calls: list[tuple[str, str]] = []
        """(method, account) of every signed-in call."""
        self._lock = threading.Lock()
        self.marks: list[tuple[str, str, dict[str, list[str]]]] = []
        """(method, account, parameters) of every star and rating."""
        names = ("ping", "search3", "getPlaylists", "getPlaylist", "createPlaylist", "updatePlaylist", "getSong")
        for name in (*names, "star", "unstar", "setRating"):
            for suffix in ("", ".view"):
                web.route("GET", f"/rest/{name}{suffix}", self._handler(name))
                web.route("POST", f"/rest/{name}{suffix}", self._handler(name))

    @property
    def base_url(self) -> str:
        return self.web.base_url

    def scan(self, song_id: str, *, title: str, artist: str, album: str, mbid: str | None = None) -> None:
        with self._lock:
            self.songs[song_id] = {
                "id": song_id,
                "parent": f"al-{album}",
                "isDir": False,
                "title": title,
                "album": album,
                "artist": artist,
                "duration": 200,
                "type": "music",
                "musicBrainzId": mbid or "",
            }

    def owned_by(self, owner: str) -> dict[str, list[str]]:
        with self._lock:
            return {p.name: list(p.songs) for p in self.playlists.values() if p.owner == owner}

    # -- answers -----------------------------------------------------------------------------------------------

    @staticmethod
    def _ok(extra: dict[str, Any] | None = None) -> Reply:
        body = {
            "subsonic-response": {
                "status": "ok",
                "version": "1.16.1",
                "type": "navidrome",
                "serverVersion": "0.53.3",
                "openSubsonic": True,
                **(extra or {}),
            }
        }
        return Reply.raw(json.dumps(body).encode(), content_type="application/json")

    @staticmethod
    def _error(code: int, message: str) -> Reply:
        body = {
            "subsonic-response": {
                "status": "failed",
                "version": "1.16.1",
                "type": "navidrome",
                "serverVersion": "0.53.3",
                "openSubsonic": True,
                "error": {"code": code, "message": message},
            }
        }
        return Reply.raw(json.dumps(body).encode(), content_type="application/json")

    def _account(self, q: dict[str, list[str]]) -> str | None:
        user, salt, token = (q.get(k, [""])[0] for k in ("u", "s", "t"))
        password = self.accounts.get(user)
        if password is None or not salt:
            return None
        return user if token == hashlib.md5((password + salt).encode()).hexdigest() else None

    def _playlist(self, p: Playlist, *, entries: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": p.id,
            "name": p.name,
            "owner": p.owner,
            "public": p.public,
            "songCount": len(p.songs),
            "duration": 200 * len(p.songs),
            "created": "2026-12-01T00:00:00Z",
            "changed": "2026-12-01T00:00:00Z",
        }
        if entries:
            out["entry"] = [self.songs[s] for s in p.songs if s in self.songs]
        return out

    def _handler(self, name: str):  # type: ignore[no-untyped-def]
        def handle(req: Request) -> Reply:
            q = dict(req.query)
            if req.method == "POST" and req.body:
                from urllib.parse import parse_qs

                for k, v in parse_qs(req.body.decode()).items():
                    q.setdefault(k, []).extend(v)
            who = self._account(q)
            if who is None:
                return self._error(40, "Wrong username or password")
            with self._lock:
                self.calls.append((name, who))
                return self._answer(name, who, q)

        return handle

    def _answer(self, name: str, who: str, q: dict[str, list[str]]) -> Reply:
        one = lambda k: (q.get(k) or [""])[0]  # noqa: E731
        if name == "ping":
            return self._ok()
        if name == "search3":
            query = one("query").casefold()
            words = query.split()
            found = [
                s
                for s in self.songs.values()
                if query == s["musicBrainzId"]
                or all(w in f"{s['artist']} {s['title']} {s['album']}".casefold() for w in words)
            ]
            return self._ok(
                {"searchResult3": {"song": found[: int(one("songCount") or 20)]}} if found else {"searchResult3": {}}
            )
        if name in ("star", "unstar", "setRating"):
            self.marks.append((name, who, q))
            return self._ok()
        if name == "getSong":
            song = self.songs.get(one("id"))
            return self._ok({"song": song}) if song else self._error(70, "Song not found")
        if name == "getPlaylists":
            mine = [p for p in self.playlists.values() if p.owner == who or p.public]
            return self._ok({"playlists": {"playlist": [self._playlist(p, entries=False) for p in mine]}})
        if name == "getPlaylist":
            p = self.playlists.get(one("id"))
            if p is None or (p.owner != who and not p.public):
                return self._error(70, "Playlist not found")
            return self._ok({"playlist": self._playlist(p, entries=True)})
        songs = q.get("songId", []) if name == "createPlaylist" else []
        unknown = [s for s in songs if s not in self.songs]
        if unknown:
            return self._error(70, f"Song not found: {unknown[0]}")
        if name == "createPlaylist" and one("playlistId"):
            p = self.playlists.get(one("playlistId"))
            if p is None:
                return self._error(70, "Playlist not found")
            if p.owner != who:
                return self._error(50, "User not authorized for the given operation")
            p.songs, p.writes = list(songs), p.writes + 1
            return self._ok({"playlist": self._playlist(p, entries=True)})
        if name == "createPlaylist":
            if not one("name"):
                return self._error(10, "Required parameter is missing: name")
            p = Playlist(f"pl-{len(self.playlists) + 1}", one("name"), who, list(songs), writes=1)
            self.playlists[p.id] = p
            return self._ok({"playlist": self._playlist(p, entries=True)})
        return self._error(0, f"{name} is not implemented by this fake")
