"""One Subsonic request: parameters from the query string and a form body, repeated keys kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..domain.versions import Versions
from .reads import OverBudget
from .render import SubsonicError, envelope, render

__all__ = ["ApiContext", "BytesReply", "Endpoint", "FileReply", "Reply", "Request", "StreamReply"]

T = TypeVar("T")


@dataclass
class Request:
    method: str
    user: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    http_method: str = "GET"

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def need(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise SubsonicError(10, f"Required parameter is missing: {name}")
        return value

    def num(self, name: str, default: int, *, lo: int = 0, hi: int | None = None) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise SubsonicError(0, f"Parameter {name} must be a number, got {raw!r}") from exc
        value = max(lo, value)
        return min(hi, value) if hi is not None else value

    def opt_int(self, name: str) -> int | None:
        raw = self.get(name)
        return None if raw in (None, "") else self.num(name, 0, lo=-(10**12))

    def flag(self, name: str, default: bool) -> bool:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        return raw.lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class FileReply:
    path: Path
    content_type: str


@dataclass(frozen=True)
class BytesReply:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class StreamReply:
    """A body made while it is sent (a transcode): no ranges. The server closes `chunks` when the client goes away,
    which stops the work behind it. With a `length` (Subsonic's estimateContentLength) exactly that many bytes are
    sent: cut short (the rest is not made) or padded with zeros, which decoders skip."""

    chunks: AsyncIterator[bytes]
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    length: int | None = None


Reply = dict[str, Any] | FileReply | BytesReply | StreamReply


@dataclass
class ApiContext:
    """Everything the endpoints use; built by the composition root."""

    reader: Any
    store: Any
    root: Path
    scanner: Any
    publish: Callable[[Any], Awaitable[object]]
    server_version: str
    now_playing: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: Versions = field(default_factory=Versions)
    extras: Any = None
    """`adapters.extrastore.ExtraStore`: bookmarks, internet radio stations, the info cache."""
    media: Any = None
    """`media.support.Media`: transcoder, cover cache, player rules (None: files and covers as stored)."""
    info: Any = None
    """`info.service.Info`: artist/album info, top and similar songs (None: empty answers)."""
    _cache: dict[tuple[Any, ...], asyncio.Future[BytesReply]] = field(default_factory=dict)

    async def cached(self, req: Request, build: Callable[[], Awaitable[dict[str, Any]]]) -> BytesReply:
        """A rendered response reused until the catalog or this user's data changes (see `Versions`).

        For the big, rarely changing answers (getArtists, getIndexes over thousands of artists). Concurrent misses
        of one key wait for a single build instead of each doing the same work."""
        fmt, callback = req.get("f") or "xml", req.get("callback")
        key = (req.method, req.user, fmt, callback, self.versions.stamp(req.user))
        pending = self._cache.get(key)
        if pending is None:
            if len(self._cache) >= 256:
                self._cache.clear()
            pending = self._cache[key] = asyncio.ensure_future(self._build(build, fmt, callback))
        try:
            return await asyncio.shield(pending)
        except Exception:
            self._cache.pop(key, None)  # a failed build is not cached
            raise

    async def _build(
        self, build: Callable[[], Awaitable[dict[str, Any]]], fmt: str, callback: str | None
    ) -> BytesReply:
        payload = envelope(await build(), server_version=self.server_version)
        body, ctype = await asyncio.to_thread(render, payload, fmt, callback)
        return BytesReply(body, ctype)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking work (writes, file reads, unbounded reads) off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A bounded catalog read (an index lookup or a short index range): inline where the reader says that is
        cheaper than a worker thread (SQLite), else in a worker thread."""
        if self.reader.inline:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def with_state(
        self,
        user: str,
        fn: Callable[..., Any],
        *args: Any,
        bounded: bool = True,
        budget: int | None = None,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        """`fn(...)` rows and the user's stars/ratings/plays for them, on one connection.

        A `bounded` read runs inline on a reader that allows it (see `read`). With a `budget` (SQLite steps), a
        read that is usually short but may walk a whole index is tried inline and redone in a worker thread if
        SQLite interrupts it. Anything else runs in a worker thread."""

        def both(steps: int | None = None) -> tuple[Any, Any]:
            with self.reader.with_connection(steps):
                rows = fn(*args, **kwargs)
                # several lists (search: artists, albums, songs) or one
                items = [r for part in rows for r in part] if isinstance(rows, tuple) else rows
                return rows, self.reader.user_state(user, [r.id for r in items])

        if self.reader.inline and bounded:
            return both()
        if self.reader.inline and budget is not None:
            try:
                return both(budget)
            except OverBudget:
                pass  # a long one (a rare word walks the whole sort index): a worker thread, without a budget
        return await asyncio.to_thread(both)


Endpoint = Callable[[ApiContext, Request], Awaitable[Reply]]
