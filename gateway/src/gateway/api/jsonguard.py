"""Bodies of the JSON API, checked before any route sees them: `application/json`, UTF-8, bounded nesting and size.

- A body of another type (`text/plain`, a form) is refused with 415. A web page can send those cross-site without
  a preflight, so accepting them would let any site log a visitor in as someone else (login CSRF) or, on a fresh
  install, create the first administrator through /api/setup.
- Invalid UTF-8 and nesting deeper than `MAX_DEPTH` (100,000 `[` is a few hundred kB) are answered 400 with the
  reason, instead of reaching the decoder and ending in a 500.
An empty body passes untouched: several routes take none, and a missing one is the route's own 400.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["MAX_BODY", "MAX_DEPTH", "body_problem", "json_guard"]

MAX_DEPTH = 32
MAX_BODY = 1 << 20
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


def _depth(text: str) -> int:
    deepest = depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):  # brackets inside strings do not nest
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def body_problem(content_type: str, body: bytes) -> tuple[int, str] | None:
    """(status, reason) when this body must not reach a JSON route; None when it may."""
    if not body.strip():
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        return 415, f"send the body as Content-Type: application/json (not {media or 'no type'})"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return 400, f"the body is not valid UTF-8 (byte {exc.start})"
    if _depth(text) > MAX_DEPTH:
        return 400, f"the body nests deeper than {MAX_DEPTH} levels"
    return None


def json_guard(app: ASGI) -> ASGI:
    """ASGI middleware for the JSON API (Litestar `middleware=[json_guard]`)."""

    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _UNSAFE or not scope["path"].startswith("/api/"):
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _answer(send, 413, f"the body is larger than {MAX_BODY} bytes")
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        content_type = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"content-type"), "")
        problem = body_problem(content_type, body)
        if problem is not None:
            await _answer(send, *problem)
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: only a disconnect is left to hear

        await app(scope, replay, send)

    return guard


async def _answer(send: Send, status: int, reason: str) -> None:
    body = json.dumps({"status_code": status, "detail": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
