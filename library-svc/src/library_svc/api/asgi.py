"""The ASGI application: `/rest/<method>` and `/rest/<method>.view`, GET or form POST, repeated keys.

Plain ASGI rather than a framework: Subsonic is one dispatch table keyed by method name, with its own parameter
and error rules (errors travel with HTTP 200 in the requested format), and streaming needs byte ranges and HEAD
done by hand anyway. Nothing a router adds is used, and each request skips its per-request work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import parse_qsl

from contracts.jsonp import callback_problem

from . import browse, extras, media, personal
from .render import SubsonicError, envelope, render
from .request import ApiContext, BytesReply, Endpoint, FileReply, Request, StreamReply

__all__ = ["ENDPOINTS", "SubsonicApp", "parse_range"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

ENDPOINTS: dict[str, Endpoint] = {**browse.ENDPOINTS, **personal.ENDPOINTS, **media.ENDPOINTS, **extras.ENDPOINTS}
USER_HEADER = "x-brainstream-user"
_CHUNK = 256 * 1024


def parse_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(first, last) inclusive for one `bytes=` range; None for no/ignored range; "unsatisfiable" for 416."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_s, _, last_s = header[6:].strip().partition("-")
    try:
        if first_s == "":
            length = int(last_s)
            if length <= 0:
                return "unsatisfiable"
            return max(0, size - length), size - 1
        first = int(first_s)
        last = int(last_s) if last_s else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return "unsatisfiable"
    return first, min(last, size - 1)


class SubsonicApp:
    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        params: dict[str, list[str]] = {}
        for key, value in parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True):
            params.setdefault(key, []).append(value)
        if scope["method"] == "POST" and headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            body = await _read_body(receive)
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                params.setdefault(key, []).append(value)
        fmt = (params.get("f") or ["xml"])[0]
        callback = params["callback"][0] if params.get("callback") else None
        problem = callback_problem(callback) if fmt == "jsonp" else None
        if problem is not None:  # refused before any work: the callback would be written into a script
            await self._payload(send, {"error": {"code": 10, "message": problem}}, "xml", None, True)
            return
        path = scope["path"]
        name = path.rsplit("/", 1)[-1].removesuffix(".view")
        user = headers.get(USER_HEADER) or (params.get("u") or [""])[0]
        try:
            if not path.startswith("/rest/") or name not in ENDPOINTS:
                raise SubsonicError(0, f"Unknown method {name or path!r}")
            if not user:
                raise SubsonicError(10, "Required parameter is missing: u")
            request = Request(name, user, params, headers, scope["method"])
            reply = await ENDPOINTS[name](self.ctx, request)
        except SubsonicError as err:
            await self._payload(send, {"error": {"code": err.code, "message": err.message}}, fmt, callback, True)
            return
        except Exception as exc:
            log.exception("%s failed", name)
            await self._payload(send, {"error": {"code": 0, "message": f"{type(exc).__name__}"}}, fmt, callback, True)
            return
        head = scope["method"] == "HEAD"
        if isinstance(reply, FileReply):
            await self._file(send, reply, headers.get("range"), head)
        elif isinstance(reply, StreamReply):
            await _stream(receive, send, reply, head)
        elif isinstance(reply, BytesReply):
            await _respond(send, 200, reply.content_type, reply.data, head=head)
        else:
            await self._payload(send, reply, fmt, callback, False, head=head)

    async def _payload(
        self, send: Send, payload: dict[str, Any], fmt: str, callback: str | None, failed: bool, *, head: bool = False
    ) -> None:
        body, ctype = render(envelope(payload, server_version=self.ctx.server_version, failed=failed), fmt, callback)
        await _respond(send, 200, ctype, body, head=head)

    async def _file(self, send: Send, reply: FileReply, range_header: str | None, head: bool) -> None:
        # one trip to a worker thread opens, sizes and reads the first chunk: a whole small file costs one hop
        fh, size, wanted, chunk = await asyncio.to_thread(_open_range, reply.path, range_header, head)
        try:
            extra = [(b"accept-ranges", b"bytes")]
            if wanted == "unsatisfiable":
                extra.append((b"content-range", f"bytes */{size}".encode()))
                await _respond(send, 416, "text/plain", b"", extra=extra)
                return
            status, first, last = 200, 0, size - 1
            if isinstance(wanted, tuple):
                status, (first, last) = 206, wanted
                extra.append((b"content-range", f"bytes {first}-{last}/{size}".encode()))
            length = last - first + 1 if size else 0
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", reply.content_type.encode()),
                        (b"content-length", str(length).encode()),
                        *extra,
                    ],
                }
            )
            if head or length == 0:
                await send({"type": "http.response.body", "body": b""})
                return
            remaining = length
            while remaining > 0:
                if chunk is None:
                    chunk = await asyncio.to_thread(fh.read, min(_CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
                chunk = None
            if remaining > 0:  # the file shrank under us: end the body rather than hang the client
                await send({"type": "http.response.body", "body": b""})
        finally:
            fh.close()


def _open_range(
    path: Path, range_header: str | None, head: bool
) -> tuple[BinaryIO, int, tuple[int, int] | str | None, bytes | None]:
    """The open file, its size, the range asked (see `parse_range`) and, unless HEAD, its first chunk."""
    fh = open(path, "rb")  # noqa: SIM115 — closed by the caller once the body is sent
    try:
        size = os.fstat(fh.fileno()).st_size
        wanted = parse_range(range_header, size)
        if head or wanted == "unsatisfiable" or size == 0:
            return fh, size, wanted, None
        first, last = wanted if isinstance(wanted, tuple) else (0, size - 1)
        fh.seek(first)
        return fh, size, wanted, fh.read(min(_CHUNK, last - first + 1))
    except BaseException:
        fh.close()
        raise


async def _stream(receive: Receive, send: Send, reply: StreamReply, head: bool) -> None:
    """Relay a body made on the fly; a client that hangs up stops it at once (uvicorn's `send` goes quiet after a
    disconnect instead of raising, so the request's `receive` is watched for it)."""
    headers = [(b"content-type", reply.content_type.encode()), *((k.encode(), v.encode()) for k, v in reply.headers)]
    if reply.length is not None:
        headers.append((b"content-length", str(reply.length).encode()))
    if head:
        await reply.chunks.aclose()  # type: ignore[attr-defined]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return

    async def pump() -> None:
        started = False
        left = reply.length
        try:
            async for chunk in reply.chunks:
                if not started:
                    await send({"type": "http.response.start", "status": 200, "headers": headers})
                    started = True
                if left is not None:  # the promised length, and not a byte more
                    chunk, left = chunk[:left], max(0, left - len(chunk))
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if left == 0:
                    break
        except Exception:
            log.exception("a stream failed while it was sent")
            if not started:  # nothing sent yet: an honest error status instead of an empty song
                await _respond(send, 500, "text/plain", b"transcoding failed")
                return
        if not started:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        while left:  # shorter than estimated: zeros up to the promised length
            pad = min(left, _CHUNK)
            left -= pad
            await send({"type": "http.response.body", "body": bytes(pad), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    relay = asyncio.create_task(pump())
    watch = asyncio.create_task(_until_disconnect(receive))
    try:
        done, _ = await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
        if relay not in done:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
        else:
            relay.result()
    finally:
        watch.cancel()
        await reply.chunks.aclose()  # type: ignore[attr-defined]


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(parts)


async def _respond(
    send: Send,
    status: int,
    ctype: str,
    body: bytes,
    *,
    head: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
