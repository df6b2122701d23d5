"""The kept-alive client behind /rest API calls, against real loopback servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from gateway.subsonic.keepalive import KeepAlivePool, UpstreamError

Handler = Callable[[int, int, bytes], Awaitable[bytes | None]]
"""(connection number, request number on it, request head) → bytes to write, or None to hang up without a word."""


class Scripted:
    """A raw HTTP/1.1 server whose answers are scripted byte for byte; it counts connections and requests."""

    def __init__(self, handler: Handler, close_after: bool = False) -> None:
        self.handler, self.close_after = handler, close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        conn, n = self.connections, 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                n += 1
                self.requests.append(head)
                out = await self.handler(conn, n, head)
                if out is None:
                    return
                writer.write(out)
                await writer.drain()
                if self.close_after or b"\r\nConnection: close\r\n" in out:
                    return
        finally:
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Handler], Awaitable[Scripted]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler, close_after: bool = False) -> Scripted:
        s = Scripted(handler, close_after)
        s.server = await asyncio.start_server(s._serve, "127.0.0.1", 0)
        servers.append(s.server)
        return s

    yield start
    for server in servers:
        server.close()


def _ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_answers_come_over_one_kept_alive_connection(scripted: Any) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes:
        return _ok(b'{"n": %d}' % n, "X-Not-Forwarded: 1", "ETag: abc", f"Set-Cookie: who=user{n}")

    server = await scripted(answer)
    pool = KeepAlivePool(["content-type", "etag"])
    try:
        for i in range(1, 6):
            got = await pool.get(server.url, f"/rest/ping?i={i}", [("X-Brainstream-User", "ann")])
            assert (got.status, json.loads(got.body)) == (200, {"n": i})
            assert got.headers == [(b"content-type", b"application/json"), (b"etag", b"abc")]
        assert not any(b"cookie" in head.lower() for head in server.requests)  # one pool serves every user
        assert server.connections == 1
        assert server.requests[0].startswith(b"GET /rest/ping?i=1 HTTP/1.1\r\n")
        assert b"\r\nX-Brainstream-User: ann\r\n" in server.requests[0]
        assert b"user-agent" not in server.requests[0].lower()  # only what the gateway passes on
        assert b"accept-encoding" not in server.requests[0].lower()
        # concurrent calls each get a connection of their own, then all of them stay for the next calls
        await asyncio.gather(*(pool.get(server.url, "/rest/ping", []) for _ in range(8)))
        connections = server.connections
        await asyncio.gather(*(pool.get(server.url, "/rest/ping", []) for _ in range(8)))
        assert server.connections == connections <= 9
    finally:
        await pool.aclose()


async def test_a_connection_the_upstream_dropped_while_idle_is_replaced_without_an_error(scripted: Any) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes | None:
        return _ok(b"{}") if n == 1 else None  # like an idle timeout that strikes as the next request arrives

    server = await scripted(answer)
    pool = KeepAlivePool(["content-type"])
    try:
        for _ in range(3):
            assert (await pool.get(server.url, "/rest/getArtists", [])).status == 200
        # each later call: written on the dead connection, dropped unanswered, written again on a new one
        assert (server.connections, len(server.requests)) == (3, 5)
    finally:
        await pool.aclose()


async def test_a_connection_that_answers_twice_to_one_request_is_not_reused(scripted: Any) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes:
        extra = _ok(b'{"stale": true}') if conn == 1 else b""
        return _ok(b'{"conn": %d}' % conn) + extra

    server = await scripted(answer)
    pool = KeepAlivePool([])
    try:
        assert json.loads((await pool.get(server.url, "/rest/getSong?id=1", [])).body) == {"conn": 1}
        assert json.loads((await pool.get(server.url, "/rest/getSong?id=2", [])).body) == {"conn": 2}
    finally:
        await pool.aclose()


async def test_chunked_and_close_delimited_answers_arrive_whole(scripted: Any) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes:
        if b"chunked" in head:
            return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        return b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nno such thing"

    server = await scripted(answer)
    pool = KeepAlivePool([])
    try:
        got = await pool.get(server.url, "/rest/chunked", [])
        assert (got.status, got.body) == (200, b"hello world")
        got = await pool.get(server.url, "/rest/eof", [])
        assert (got.status, got.body) == (404, b"no such thing")
        assert server.connections == 1
        await pool.get(server.url, "/rest/eof", [])
        assert server.connections == 2  # the close-delimited one was not kept
    finally:
        await pool.aclose()


@pytest.mark.parametrize(
    ("reply", "limit", "why"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", 1 << 20, "closed mid-answer"),
        (b"SSH-2.0-OpenSSH_9.6\r\n\r\n", 1 << 20, "not an HTTP answer"),
        (_ok(b"x" * 5000), 1000, "over 1000 bytes"),
    ],
)
async def test_broken_answers_are_errors_not_answers(scripted: Any, reply: bytes, limit: int, why: str) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes:
        return reply

    server = await scripted(answer, close_after=True)
    pool = KeepAlivePool([], max_body=limit)
    try:
        with pytest.raises(UpstreamError, match=why):
            await pool.get(server.url, "/rest/getAlbum", [])
    finally:
        await pool.aclose()


async def test_an_upstream_that_never_answers_times_out(scripted: Any) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes:
        await asyncio.Event().wait()  # forever
        return b""

    server = await scripted(answer)
    pool = KeepAlivePool([], timeout_s=0.3)
    try:
        with pytest.raises(UpstreamError, match="no answer"):
            await pool.get(server.url, "/rest/search3", [])
    finally:
        await pool.aclose()


async def test_nothing_listening_is_an_upstream_error() -> None:
    pool = KeepAlivePool([])
    with pytest.raises(UpstreamError, match="cannot connect"):
        await pool.get("http://127.0.0.1:9", "/rest/ping", [])


async def test_gateway_answers_502_in_the_clients_format_when_the_answer_breaks_off(
    gateway_factory: Any, scripted: Any
) -> None:
    async def answer(conn: int, n: int, head: bytes) -> bytes:
        return b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"subsonic-response": {'

    server = await scripted(answer, close_after=True)
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=server.url)
    params = {"u": "admin", "p": gw.app_password(), "id": "al-1"}
    async with httpx.AsyncClient(base_url=gw.url) as c:
        as_json = await c.get("/rest/getAlbum", params={**params, "f": "json"})
        as_jsonp = await c.get("/rest/getAlbum.view", params={**params, "f": "jsonp", "callback": "show"})
    assert as_json.status_code == 502
    assert as_json.json()["subsonic-response"]["error"]["code"] == 0
    assert as_jsonp.status_code == 502 and as_jsonp.headers["content-type"] == "application/javascript"
    assert as_jsonp.text.startswith("show(") and as_jsonp.text.endswith(");")
    assert json.loads(as_jsonp.text[5:-2])["subsonic-response"]["status"] == "failed"
