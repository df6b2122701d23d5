"""A lean keep-alive HTTP/1.1 client for the small answers of /rest (the JSON/XML envelopes of the API calls).

A general-purpose client costs more per call than the whole rest of a proxy hop: an API answer needs only one
request written on a persistent connection, the answer parsed by httptools and the whole body handed back. Streams,
downloads, covers, ranges and HEAD stay on aiohttp, relayed chunk by chunk and aware of a client that hangs up.

A GET written on a reused connection that the upstream had just closed (its idle timeout) is sent again once on a new
connection when not a byte of the answer had come back: the request is idempotent and never reached the upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast
from urllib.parse import urlsplit

import httptools

__all__ = ["Answer", "KeepAlivePool", "UpstreamError"]

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)
"""Linux only; elsewhere the answers just come at the peer's pace."""
_IDLE_S = 30.0
"""An idle connection older than this is closed instead of reused."""


class UpstreamError(Exception):
    """The upstream could not be reached, broke the answer off, or answered with something that is not HTTP."""


@dataclass(slots=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    """Only the headers asked for, names in lower case, in the order received."""
    body: bytes


@dataclass(frozen=True, slots=True)
class _Origin:
    host: str
    port: int
    tls: bool
    prefix: str
    """The base URL's path without the trailing slash ('' for most)."""
    host_header: bytes


@lru_cache(maxsize=64)
def _origin(base_url: str) -> _Origin:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamError(f"not an http(s) URL: {base_url}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    return _Origin(parts.hostname, port, tls, parts.path.rstrip("/"), parts.netloc.encode("idna"))


class _Stale(Exception):
    """A reused connection closed before any byte of the answer: safe to send the GET again."""


class _Conn(asyncio.Protocol):
    """One persistent connection; at most one request at a time on it."""

    def __init__(self, keep: frozenset[bytes], limit: int) -> None:
        self._keep, self._limit = keep, limit
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._sock: Any = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._got = False
        self._framed = False
        self._headers_done = False
        self._again = False
        self._last = 0.0

    # asyncio.Protocol -------------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self._sock = transport.get_extra_info("socket") if _QUICKACK is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if not self._got and self.reused:
            waiter.set_exception(_Stale())
        elif self._headers_done and not self._framed:  # an answer delimited by the end of the connection
            self._complete()
        else:
            waiter.set_exception(UpstreamError(f"connection closed mid-answer ({exc or 'by the upstream'})"))

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes nobody asked for: whatever follows on this connection cannot be trusted
            self.close()
            return
        self._got = True
        self._last = time.monotonic()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"not an HTTP answer: {exc}"))
            return
        if self._sock is not None and not self._waiter.done():
            # More of this answer is to come. An upstream that writes the head and the body separately without
            # TCP_NODELAY holds the body back until this part is acknowledged, and the kernel delays that
            # acknowledgement by up to 40 ms: acknowledge now.
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)

    # httptools callbacks ----------------------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # a second answer to one request: the connection is out of step
            self.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        low = name.lower()
        if low == b"content-length" or low == b"transfer-encoding":
            self._framed = True
        if low in self._keep:
            self._headers.append((low, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._limit:
            self._fail(UpstreamError(f"an API answer over {self._limit} bytes"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._again = self._parser.should_keep_alive()  # only here: the parser forgets it for the next message
        self._complete()

    # the request ------------------------------------------------------------------------------------------------

    def _complete(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
            waiter.set_result(Answer(self._parser.get_status_code(), self._headers, body))

    def _fail(self, exc: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def exchange(self, request: bytes, timeout_s: float) -> tuple[Answer, bool]:
        """The answer, and whether the connection may carry another request."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        self._headers, self._body, self._size = [], [], 0
        self._got = self._framed = self._headers_done = self._again = False
        self._last = time.monotonic()
        timer = loop.call_later(timeout_s, self._check_silence, timeout_s)
        self.transport.write(request)
        try:
            answer = await waiter
        finally:
            timer.cancel()
            self._waiter = None
            if not waiter.done() or waiter.cancelled() or waiter.exception() is not None:
                self.close()  # half an exchange on this connection: nothing after it could be trusted
        return answer, self._again and not self.closed

    def _check_silence(self, timeout_s: float) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        quiet = time.monotonic() - self._last
        if quiet >= timeout_s:
            self._fail(UpstreamError(f"no answer for {timeout_s:g} s"))
        else:
            asyncio.get_running_loop().call_later(timeout_s - quiet, self._check_silence, timeout_s)


class KeepAlivePool:
    """Persistent connections per upstream origin; at most `limit` requests in flight per origin."""

    def __init__(
        self,
        keep_headers: Iterable[str],
        timeout_s: float = 30.0,
        limit: int = 128,
        max_body: int = 64 * 1024 * 1024,
    ) -> None:
        self._keep = frozenset(h.lower().encode() for h in keep_headers)
        self._timeout_s, self._limit, self._max_body = timeout_s, limit, max_body
        self._idle: dict[_Origin, list[_Conn]] = {}
        self._gates: dict[_Origin, asyncio.Semaphore] = {}
        self._tls: ssl.SSLContext | None = None
        self._closed = False

    async def get(self, base_url: str, path_and_query: str, headers: bytes) -> Answer:
        """GET `base_url` + `path_and_query` (already encoded); `headers` are whole `Name: value\\r\\n` lines."""
        origin = _origin(base_url)
        request = b"".join(
            (
                b"GET ",
                (origin.prefix + path_and_query).encode("ascii"),
                b" HTTP/1.1\r\nHost: ",
                origin.host_header,
                b"\r\n",
                headers,
                b"\r\n",
            )
        )
        gate = self._gates.get(origin)
        if gate is None:
            gate = self._gates[origin] = asyncio.Semaphore(self._limit)
        async with gate:
            for _ in range(2):
                conn = self._reuse(origin) or await self._connect(origin)
                try:
                    answer, again = await conn.exchange(request, self._timeout_s)
                except _Stale:
                    continue
                except OSError as exc:
                    raise UpstreamError(f"{type(exc).__name__}: {exc}") from exc
                if again and not self._closed:
                    conn.reused, conn.idle_since = True, time.monotonic()
                    self._idle.setdefault(origin, []).append(conn)
                else:
                    conn.close()
                return answer
            raise UpstreamError("the upstream closed two connections in a row without answering")

    def _reuse(self, origin: _Origin) -> _Conn | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < _IDLE_S:
                return conn
            conn.close()
        return None

    async def _connect(self, origin: _Origin) -> _Conn:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if origin.tls:
            tls = self._tls = self._tls or ssl.create_default_context()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Conn(self._keep, self._max_body), origin.host, origin.port, ssl=tls),
                self._timeout_s,
            )
        except (OSError, TimeoutError) as exc:
            raise UpstreamError(f"cannot connect to {origin.host}:{origin.port}: {exc or type(exc).__name__}") from exc
        return conn

    def idle_connections(self) -> int:
        return sum(len([c for c in conns if not c.closed]) for conns in self._idle.values())

    def close(self) -> None:
        """Close the idle connections; those in use close when their answer is in."""
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
