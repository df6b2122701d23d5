"""/rest: authenticate the Subsonic client, then relay to the upstream.

Raw ASGI on purpose: every /rest call is a proxy hop, and a framework's request/response objects would cost more than
the hop itself. API calls (small JSON/XML answers) are read whole over a pool of kept-alive connections of their own
(aiohttp, `keepalive.py`); streams, downloads, covers, ranges and HEAD over the gateway's aiohttp session, relayed
chunk by chunk both ways without buffering. A client that goes away during a
relay cancels it and closes the upstream connection at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote_plus, urlencode

import aiohttp
from yarl import URL

from ..auth.limiter import GuessLimiter, retry_after
from ..auth.users import Users
from .auth import AuthFailure, AuthPolicy, authenticate
from .envelope import Format, envelope, error, jsonp_problem
from .keepalive import KeepAlivePool, UpstreamError
from .upstream import CLIENT_CREDENTIALS, Upstream, UpstreamChooser

__all__ = ["FORWARD_RESPONSE", "MARKS", "SubsonicProxy"]

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Scrobbled = Callable[[str, Upstream, list[tuple[str, str]], aiohttp.ClientSession], Awaitable[None]]
Marked = Callable[[str, str, list[tuple[str, str]]], Awaitable[None]]
MARKS = frozenset({"star", "setRating", "createPlaylist", "updatePlaylist"})
"""Calls that, made in Navidrome, may keep a discovery (library-svc sees those of the built-in server itself)."""

_FORWARD_REQUEST = (
    b"range",
    b"if-range",
    b"if-none-match",
    b"if-modified-since",
    b"accept",
    b"accept-encoding",
    b"user-agent",
)
FORWARD_RESPONSE = frozenset(
    {
        "content-type",
        "content-length",
        "content-range",
        "accept-ranges",
        "etag",
        "last-modified",
        "cache-control",
        "content-encoding",
        "content-disposition",
        "x-content-duration",
        "expires",
    }
)
_STREAMED = frozenset(
    {"stream", "download", "getCoverArt", "getAvatar", "getCaptions", "getTranscodeStream", "hls", "hls.m3u8"}
)
"""Answers that can be large or long (audio, images, playlists of segments): relayed chunk by chunk over aiohttp."""
_CHUNK = 64 * 1024
_SMALL = 256 * 1024
"""Answers up to this size are read whole; larger ones (streams, covers, downloads) relay chunk by chunk."""
_URL_SAFE = re.compile(r"[A-Za-z0-9\-._~%!$'()*+,;=:@/?&]*")
"""A query made of these alone can go upstream as the client wrote it; anything else is decoded and re-encoded."""
_EXTENSIONS = [{"name": "apiKeyAuthentication", "versions": [1]}, {"name": "formPost", "versions": [1]}]
ADMIN_METHODS = frozenset({"createInternetRadioStation", "updateInternetRadioStation", "deleteInternetRadioStation"})
"""Changes to what every user shares: administrators only, whichever upstream serves /rest (Navidrome would take
them from anyone, as the gateway signs in there with one account)."""


def _pairs(raw: str) -> list[tuple[str, str]]:
    """A query string's (name, value) pairs, blanks kept: `urllib.parse.parse_qsl`, without unquoting plain pieces."""
    pairs = []
    for piece in raw.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "%" in piece or "+" in piece:
            name, value = unquote_plus(name), unquote_plus(value)
        pairs.append((name, value))
    return pairs


def _key(piece: str) -> str:
    name = piece.partition("=")[0]
    return unquote_plus(name) if "%" in name or "+" in name else name


@lru_cache(maxsize=512)
def _segment(path: str) -> tuple[str, str]:
    """(the Subsonic method, the last path segment as the upstream gets it): `/rest/getAlbum.view` → getAlbum."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.removesuffix(".view"), quote(name)


class SubsonicProxy:
    def __init__(
        self,
        users: Users,
        chooser: UpstreamChooser,
        limiter: GuessLimiter,
        policy: AuthPolicy,
        session: Callable[[], aiohttp.ClientSession],
        on_scrobble: Scrobbled | None = None,
        pool: KeepAlivePool | None = None,
        on_marked: Marked | None = None,
    ) -> None:
        self._users, self._chooser, self.limiter, self._policy = users, chooser, limiter, policy
        self._session = session
        self.pool = pool or KeepAlivePool(FORWARD_RESPONSE - {"content-length"})
        self._on_scrobble = on_scrobble
        self._on_marked = on_marked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("query_string", b"").decode("latin-1")
        if scope.get("method") == "POST":  # OpenSubsonic formPost: the same parameters in a form body
            body = await _read_body(receive)
            if body is None:
                await _reply(send, 413, *error("xml", 0, "Request body too large"))
                return
            raw = f"{raw}&{body.decode('utf-8', 'replace')}" if raw else body.decode("utf-8", "replace")
        params = _pairs(raw)
        first = {k: v for k, v in reversed(params)}
        fmt = Format.of(first)
        problem = jsonp_problem(first)
        if problem is not None:  # never relayed: the upstream (Navidrome too) might echo the callback
            await _reply(send, 200, *error(fmt, 10, problem))
            return
        method, segment = _segment(scope.get("path", ""))
        upstream = self._chooser.current()
        if method == "getOpenSubsonicExtensions":
            await self._extensions(upstream, fmt, send)
            return
        address = (scope.get("client") or ("?", 0))[0]
        guess = self.limiter.try_guess(address, None if "apiKey" in first else first.get("u"))
        if isinstance(guess, float):
            message = f"Too many failed attempts: slow down and try again in {retry_after(guess)} s"
            await _reply(send, 429, *error(fmt, 0, message), retry=retry_after(guess))
            return
        who = authenticate(first, self._users.app_password, self._users.user_by_app_password, self._policy)
        if isinstance(who, AuthFailure):
            if not who.counts_as_guess:  # a malformed request is not a guess at a secret
                guess.took_back()
            await _reply(send, 200, *error(fmt, who.code, who.message))
            return
        guess.took_back()
        upstream = self._chooser.for_user(who, upstream)  # with Navidrome: as the user's own account when they have one
        if method == "startScan" and first.get("fullScan", "").lower() == "true" and not self._is_admin(who):
            # a full scan re-reads every file of the library: an administrator's decision
            await _reply(send, 200, *error(fmt, 50, "User is not authorized for the given operation: fullScan"))
            return
        if method == "tokenInfo":  # the key was checked here: its owner is the answer, whoever serves /rest
            await _reply(send, 200, *envelope(fmt, "ok", {"tokenInfo": {"username": who}}))
            return
        forwarded = [(name, value) for name, value in scope.get("headers", []) if name in _FORWARD_REQUEST]
        if method in ADMIN_METHODS:
            row = self._users.get(who)
            if row is None or not row.is_admin:
                await _reply(send, 200, *error(fmt, 50, "Only an administrator may change internet radio stations"))
                return
            forwarded.append((b"x-brainstream-admin", b"1"))
        http_method = scope.get("method", "GET")
        if upstream.navidrome or not _URL_SAFE.fullmatch(raw):
            query = urlencode(upstream.params(params))
        else:  # the client's own encoding, less its credentials: no decoding and re-encoding on every call
            query = "&".join(p for p in raw.split("&") if p and _key(p) not in CLIENT_CREDENTIALS)
        if http_method in ("GET", "POST") and method not in _STREAMED and all(n != b"range" for n, _ in forwarded):
            relayed = await self._answer(send, upstream, f"/rest/{segment}?{query}", who, forwarded, fmt)
        else:
            headers = upstream.headers(who)
            for name, value in forwarded:
                headers[name.decode()] = value.decode("latin-1")
            # the query is encoded once here; yarl would parse and re-quote it on every call otherwise
            target = URL(f"{upstream.url(segment)}?{query}", encoded=True)
            relayed = await self._relay(receive, send, upstream, http_method == "HEAD", target, headers, fmt)
        submitted = first.get("submission", "true").lower() != "false"
        # a submitted play through the built-in API is recorded by library-svc itself; "now playing" never is
        if relayed and method == "scrobble" and (upstream.navidrome or not submitted) and self._on_scrobble is not None:
            try:
                await self._on_scrobble(who, upstream, params, self._session())
            except Exception:
                # the client already has its answer; the play is lost to ingest, so say so loudly
                log.exception("scrobble by %s relayed to Navidrome but not published", who)
        if relayed and upstream.navidrome and method in MARKS and self._on_marked is not None:
            # Navidrome keeps these to itself: a star, rating or playlist of a discovery keeps (or a 1 hates) it
            try:
                await self._on_marked(who, method, params)
            except Exception:
                log.exception("%s by %s relayed to Navidrome but its discovery command not published", method, who)

    def _is_admin(self, username: str) -> bool:
        row = self._users.get(username)
        return bool(row and row.is_admin)

    async def _answer(
        self,
        send: Send,
        upstream: Upstream,
        path_and_query: str,
        user: str,
        forwarded: list[tuple[bytes, bytes]],
        fmt: Format,
    ) -> bool:
        """An API call: the whole answer over a kept-alive connection, sent to the client in one go."""
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in forwarded]
        headers += upstream.headers(user).items()
        try:
            answer = await self.pool.get(upstream.base_url, path_and_query, headers)
        except UpstreamError as exc:
            log.warning("/rest upstream %s unreachable: %s", upstream.base_url, exc)
            await _reply(send, 502, *error(fmt, 0, "The music library is unavailable right now"))
            return False
        out = answer.headers
        out.append((b"content-length", b"%d" % len(answer.body)))
        await send({"type": "http.response.start", "status": answer.status, "headers": out})
        await send({"type": "http.response.body", "body": answer.body, "more_body": False})
        return answer.status < 400

    async def _relay(
        self,
        receive: Receive,
        send: Send,
        upstream: Upstream,
        head: bool,
        target: URL,
        headers: dict[str, str],
        fmt: Format,
    ) -> bool:
        """A stream, download, cover, range or HEAD: relayed chunk by chunk, the upstream freed when the client goes."""
        try:
            resp = await self._session().request(
                "HEAD" if head else "GET", target, headers=headers, allow_redirects=False
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("/rest upstream %s unreachable: %s", upstream.base_url, exc)
            await _reply(send, 502, *error(fmt, 0, "The music library is unavailable right now"))
            return False
        out = [
            (k.lower().encode(), v.encode("latin-1")) for k, v in resp.headers.items() if k.lower() in FORWARD_RESPONSE
        ]
        length = resp.headers.get("Content-Length", "")
        if not head and length.isdigit() and int(length) <= _SMALL:
            # an ordinary API answer: read it whole and send it in one go, no relay tasks needed
            try:
                body = await resp.read()
            finally:
                resp.release()
            await send({"type": "http.response.start", "status": resp.status, "headers": out})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return resp.status < 400
        ending = asyncio.Event()  # set before the last send: a disconnect after it is only the response completing
        relay = asyncio.create_task(self._pump(resp, send, out, head, ending))
        watch = asyncio.create_task(_until_disconnect(receive))
        try:
            done, _ = await asyncio.wait({relay, watch}, return_when=asyncio.FIRST_COMPLETED)
            if (
                relay not in done and not ending.is_set()
            ):  # the client left: free the upstream connection now, not at the end of the song
                relay.cancel()
                resp.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await relay
                return False
            return await relay and resp.status < 400
        finally:
            watch.cancel()
            resp.release()

    @staticmethod
    async def _pump(
        resp: aiohttp.ClientResponse, send: Send, headers: list[tuple[bytes, bytes]], head: bool, ending: asyncio.Event
    ) -> bool:
        await send({"type": "http.response.start", "status": resp.status, "headers": headers})
        if not head:
            async for chunk in resp.content.iter_chunked(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        ending.set()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return True

    async def _extensions(self, upstream: Upstream, fmt: Format, send: Send) -> None:
        found = list(_EXTENSIONS)
        try:
            async with self._session().get(
                upstream.url("getOpenSubsonicExtensions"),
                params=upstream.params([("f", "json")]),
                headers=upstream.headers(None),
            ) as resp:
                body = await resp.json(content_type=None)
            for ext in body["subsonic-response"].get("openSubsonicExtensions", []):
                if ext.get("name") not in {e["name"] for e in found}:
                    found.append(ext)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            log.info("upstream extensions unavailable (%s); answering with the gateway's own", exc)
        await _reply(send, 200, *envelope(fmt, "ok", {"openSubsonicExtensions": found}))


async def _read_body(receive: Receive, limit: int = 1 << 20) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _until_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _reply(send: Send, status: int, body: bytes, content_type: str, retry: str | None = None) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    if retry is not None:
        headers.append((b"retry-after", retry.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
