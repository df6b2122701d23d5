"""A loopback slskd: searches (at most 2 at once, 429 beyond), responses, and transfers that complete, fail or stall."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from tests.support.fakeweb import FakeWeb, Reply, Request


@dataclass
class SharedFile:
    user: str
    filename: str
    source: Path
    outcome: str = "complete"
    """'complete', 'stall' or 'error'."""
    bit_rate: int | None = None
    length: int | None = None


@dataclass
class FakeSlskd:
    web: FakeWeb
    downloads: Path
    api_key: str = "secret-key"
    files: list[SharedFile] = field(default_factory=list)
    polls_until_complete: int = 2
    active: dict[str, int] = field(default_factory=dict)
    max_active_seen: int = 0
    refused: int = 0
    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> FakeSlskd:
        w = self.web
        w.route("POST", "/api/v0/searches", self._start)
        w.route("GET", "/api/v0/searches/{id}", self._state)
        w.route("GET", "/api/v0/searches/{id}/responses", self._responses)
        w.route("DELETE", "/api/v0/searches/{id}", self._delete)
        w.route("POST", "/api/v0/transfers/downloads/{user}", self._enqueue)
        w.route("GET", "/api/v0/transfers/downloads/{user}", self._transfers)
        w.route("DELETE", "/api/v0/transfers/downloads/{user}/{id}", self._cancel)
        return self

    def _auth(self, req: Request) -> Reply | None:
        return None if req.header("X-API-Key") == self.api_key else Reply(401, json={"error": "unauthorized"})

    def _start(self, req: Request) -> Reply:
        if denied := self._auth(req):
            return denied
        body = req.json()
        with self._lock:
            if len(self.active) >= 2:
                self.refused += 1
                return Reply(429, json={"error": "Only 2 concurrent searches allowed"})
            self.active[body["id"]] = 0
            self.max_active_seen = max(self.max_active_seen, len(self.active))
        return Reply(
            json={"id": body["id"], "searchText": body["searchText"], "state": "InProgress", "isComplete": False}
        )

    def _state(self, req: Request) -> Reply:
        sid = req.params["id"]
        with self._lock:
            if sid not in self.active:
                return Reply(404, json={"error": "not found"})
            self.active[sid] += 1
            done = self.active[sid] >= self.polls_until_complete
        state = "Completed, TimedOut" if done else "InProgress"
        return Reply(json={"id": sid, "state": state, "isComplete": done, "fileCount": len(self.files)})

    def _responses(self, req: Request) -> Reply:
        users: dict[str, list[dict[str, Any]]] = {}
        for f in self.files:
            entry: dict[str, Any] = {"filename": f.filename, "size": f.source.stat().st_size, "extension": ""}
            if f.bit_rate is not None:
                entry["bitRate"] = f.bit_rate
            if f.length is not None:
                entry["length"] = f.length
            users.setdefault(f.user, []).append(entry)
        return Reply(
            json=[
                {"username": u, "hasFreeUploadSlot": True, "queueLength": 0, "uploadSpeed": 1000, "files": fs}
                for u, fs in users.items()
            ]
        )

    def _delete(self, req: Request) -> Reply:
        with self._lock:
            self.active.pop(req.params["id"], None)
        return Reply(204)

    def _enqueue(self, req: Request) -> Reply:
        user = req.params["user"]
        for item in req.json():
            shared = next(f for f in self.files if f.user == user and f.filename == item["filename"])
            tid = f"t{len(self.transfers) + 1}"
            self.transfers[tid] = {"shared": shared, "polls": 0, "cancelled": False}
        return Reply(201, json={"enqueued": len(req.json())})

    def _transfers(self, req: Request) -> Reply:
        user = req.params["user"]
        dirs: dict[str, list[dict[str, Any]]] = {}
        for tid, t in self.transfers.items():
            shared: SharedFile = t["shared"]
            if shared.user != user:
                continue
            t["polls"] += 1
            size = shared.source.stat().st_size
            if t["cancelled"]:
                state, moved = "Completed, Cancelled", 100
            elif shared.outcome == "stall":
                state, moved = "InProgress", 100
            elif shared.outcome == "error":
                state, moved = "Completed, Errored", 0
            elif t["polls"] < 2:
                state, moved = "InProgress", size // 2
            else:
                remote = PureWindowsPath(shared.filename)
                local = self.downloads / remote.parent.name / remote.name
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(shared.source.read_bytes())
                state, moved = "Completed, Succeeded", size
            entry = {"id": tid, "filename": shared.filename, "state": state, "bytesTransferred": moved, "size": size}
            dirs.setdefault(str(PureWindowsPath(shared.filename).parent), []).append(entry)
        return Reply(json={"username": user, "directories": [{"directory": d, "files": fs} for d, fs in dirs.items()]})

    def _cancel(self, req: Request) -> Reply:
        self.transfers[req.params["id"]]["cancelled"] = True
        return Reply(204)
