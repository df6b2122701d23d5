"""Rendered responses reused until the catalog or the user's data changes (see `Versions`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..domain.versions import Versions
from .render import envelope, render
from .replies import BytesReply
from .request import Request

__all__ = ["ResponseCache"]

Build = Callable[[], Awaitable[dict[str, Any]]]


class ResponseCache:
    """For the big, rarely changing answers (getArtists, getIndexes over thousands of artists).

    The key holds the versions stamp of the catalog and of the user, so a change makes old entries unreachable;
    concurrent misses of one key wait for a single build instead of each doing the same work."""

    def __init__(self, versions: Versions, server_version: str, *, size: int = 256) -> None:
        self.versions = versions
        self.server_version = server_version
        self.size = size
        self._entries: dict[tuple[object, ...], asyncio.Future[BytesReply]] = {}

    async def get(self, req: Request, build: Build) -> BytesReply:
        fmt, callback = req.get("f") or "xml", req.get("callback")
        key = (req.method, req.user, fmt, callback, self.versions.stamp(req.user))
        pending = self._entries.get(key)
        if pending is None:
            if len(self._entries) >= self.size:
                self._entries.clear()
            pending = self._entries[key] = asyncio.ensure_future(self._build(build, fmt, callback))
        try:
            return await asyncio.shield(pending)
        except Exception:
            self._entries.pop(key, None)  # a failed build is not cached
            raise

    async def _build(self, build: Build, fmt: str, callback: str | None) -> BytesReply:
        payload = envelope(await build(), server_version=self.server_version)
        body, ctype = await asyncio.to_thread(render, payload, fmt, callback)
        return BytesReply(body, ctype)
