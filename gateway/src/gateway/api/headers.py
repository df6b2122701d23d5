"""Security headers on every answer of the web UI and the REST API (not /rest, which the front door serves).

- Content-Security-Policy: scripts, styles, images, media and connections from this origin only, no inline script
  or style (the UI's script is /static/app.js), no framing, no plugins, forms post here only.
- X-Frame-Options: DENY for browsers that predate `frame-ancestors`.
- X-Content-Type-Options: nosniff, so an answer is never run as something it was not sent as.
- Referrer-Policy: same-origin, so track and user URLs do not leak to other sites.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["CSP", "SECURITY_HEADERS", "security_headers"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_NAMES = {name for name, _ in SECURITY_HEADERS}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


def security_headers(app: ASGI) -> ASGI:
    """ASGI middleware (Litestar `middleware=[security_headers]`)."""

    async def add(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        # the OpenAPI viewers under /schema load their own scripts: they keep the other headers, not the policy
        added = SECURITY_HEADERS[1:] if scope["path"].startswith("/schema") else SECURITY_HEADERS

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES]
                message = {**message, "headers": kept + added}
            await send(message)

        await app(scope, receive, sending)

    return add
