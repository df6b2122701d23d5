"""Loopback fakes of the write side of ListenBrainz (`submit-listens`, listens read back) and Last.fm (`track.scrobble`,
`track.updateNowPlaying`, `user.getRecentTracks`), checking tokens and signatures as the real services do."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.support.fakeweb import FakeWeb, Reply, Request

__all__ = ["FakeLastfmWrite", "FakeListenBrainzWrite"]


@dataclass
class FakeListenBrainzWrite:
    web: FakeWeb
    tokens: dict[str, str] = field(default_factory=lambda: {"lb-token-alice": "alice"})
    listens: list[dict[str, Any]] = field(default_factory=list)
    playing_now: list[dict[str, Any]] = field(default_factory=list)
    before: list[Reply] = field(default_factory=list)
    """Replies to the next submissions instead of accepting them (429s, 503s)."""
    hang_after_accept_s: float = 0.0
    """Accept a submission, then answer this late (a process killed while it waits never hears back)."""

    def __post_init__(self) -> None:
        self.web.route("POST", "/1/submit-listens", self._submit)
        self.web.route("GET", "/1/user/{user}/listens", self._listens)

    def _user(self, req: Request) -> str | None:
        auth = req.header("Authorization") or ""
        return self.tokens.get(auth.removeprefix("Token ").strip()) if auth.startswith("Token ") else None

    def _submit(self, req: Request) -> Reply:
        user = self._user(req)
        if user is None:
            return Reply(401, json={"code": 401, "error": "You need to provide an Authorization header."})
        if self.before:
            return self.before.pop(0)
        body = json.loads(req.body)
        kind, payload = body.get("listen_type"), body.get("payload") or []
        for item in payload:
            meta = item.get("track_metadata") or {}
            if not meta.get("artist_name") or not meta.get("track_name"):
                return Reply(400, json={"code": 400, "error": "JSON document must contain artist_name/track_name"})
            if kind == "playing_now":
                self.playing_now.append(item | {"user_name": user})
            else:
                self.listens.append(item | {"user_name": user})
        return Reply(json={"status": "ok"}, delay_s=self.hang_after_accept_s if kind != "playing_now" else 0.0)

    def _listens(self, req: Request) -> Reply:
        user = req.params["user"]
        low = int(req.query.get("min_ts", ["0"])[0])
        high = int(req.query.get("max_ts", [str(2**40)])[0])
        found = [x for x in self.listens if x["user_name"] == user and low < int(x["listened_at"]) < high]
        found.sort(key=lambda x: -int(x["listened_at"]))
        return Reply(json={"payload": {"count": len(found), "listens": found, "user_id": user}})

    def submissions(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.web.requests if r.method == "POST"]


@dataclass
class FakeLastfmWrite:
    web: FakeWeb
    api_key: str = "lfm-key"
    secret: str = "lfm-secret"
    sessions: dict[str, str] = field(default_factory=lambda: {"lfm-sk-alice": "alice-fm"})
    scrobbles: list[dict[str, str]] = field(default_factory=list)
    now_playing: list[dict[str, str]] = field(default_factory=list)
    before: list[Reply] = field(default_factory=list)
    hang_after_accept_s: float = 0.0

    def __post_init__(self) -> None:
        self.web.route("POST", "/2.0/", self._post)
        self.web.route("GET", "/2.0/", self._recent)

    def _error(self, code: int, message: str, status: int = 200) -> Reply:
        return Reply(status, json={"error": code, "message": message})

    def _post(self, req: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if form.get("api_key") != self.api_key:
            return self._error(10, "Invalid API key - You must be granted a valid key by last.fm", 403)
        signed = "".join(k + form[k] for k in sorted(form) if k not in ("format", "callback", "api_sig"))
        if hashlib.md5((signed + self.secret).encode(), usedforsecurity=False).hexdigest() != form.get("api_sig"):
            return self._error(13, "Invalid method signature supplied", 403)
        user = self.sessions.get(form.get("sk", ""))
        if user is None:
            return self._error(9, "Invalid session key - Please re-authenticate", 403)
        if self.before:
            return self.before.pop(0)
        if form.get("method") == "track.updateNowPlaying":
            self.now_playing.append(form)
            return Reply(json={"nowplaying": {"track": {"#text": form["track"]}, "ignoredMessage": {"code": "0"}}})
        if form.get("method") != "track.scrobble":
            return self._error(3, "Invalid Method - No method with that name in this package")
        self.scrobbles.append(form | {"user": user})
        body = {
            "scrobbles": {
                "scrobble": {
                    "artist": {"corrected": "0", "#text": form["artist"]},
                    "track": {"corrected": "0", "#text": form["track"]},
                    "timestamp": form["timestamp"],
                    "ignoredMessage": {"code": "0", "#text": ""},
                },
                "@attr": {"ignored": 0, "accepted": 1},
            }
        }
        return Reply(json=body, delay_s=self.hang_after_accept_s)

    def _recent(self, req: Request) -> Reply:
        user = req.query.get("user", [""])[0]
        low = int(req.query.get("from", ["0"])[0])
        high = int(req.query.get("to", [str(2**40)])[0])
        found = [s for s in self.scrobbles if s["user"] == user and low <= int(s["timestamp"]) <= high]
        tracks = [
            {"artist": {"#text": s["artist"]}, "name": s["track"], "date": {"uts": s["timestamp"]}} for s in found
        ]
        return Reply(json={"recenttracks": {"track": tracks, "@attr": {"user": user, "totalPages": "1"}}})

    def scrobble_calls(self) -> int:
        return sum(1 for r in self.web.requests if r.method == "POST" and b"track.scrobble" in r.body)
