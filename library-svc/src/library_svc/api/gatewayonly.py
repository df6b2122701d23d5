"""Only the gateway gets in: every request carries the internal secret, or it is answered 401.

library-svc trusts the user named in `X-Brainstream-User`; that is safe only because the gateway, which checked
the client's credentials, is the one saying it. Without this, anyone who can reach the port reads any user's
playlists and stars. The check runs before anything else, in constant time.
"""

from __future__ import annotations

import hmac
import json

from infra.internal import INTERNAL_HEADER

from .asgi import Receive, Scope, Send, SubsonicApp

__all__ = ["GatewayOnly"]

_HEADER = INTERNAL_HEADER.lower().encode()
_REFUSAL = json.dumps(
    {"error": "library-svc answers the BrainStream gateway only: send your Subsonic client to the gateway's /rest"}
).encode()


class GatewayOnly:
    def __init__(self, app: SubsonicApp, secret: str) -> None:
        if not secret:
            raise ValueError("library-svc needs the internal API secret (BRAINSTREAM_LIBRARY_API_SECRET)")
        self.app = app
        self._secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope["headers"] if k == _HEADER), b"")
            if not hmac.compare_digest(given, self._secret):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(_REFUSAL)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": _REFUSAL})
                return
        await self.app(scope, receive, send)
