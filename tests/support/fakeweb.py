"""A loopback fake web server for imitating external HTTP APIs in tests.

Standard library only: a ``ThreadingHTTPServer`` on ``127.0.0.1`` (free port) served from a background
thread, so it works with sync and async clients alike. Tests register routes with canned or computed
replies, including the quirks real services have (HTML error pages, truncated JSON, a UTF-8 BOM before
JSON, slow answers, rate limits), then assert on the recorded requests.

Example::

    with FakeWeb() as web:
        web.json("GET", "/ws/2/recording/{mbid}", {"id": "..."})
        web.sequence("GET", "/search", [Reply(503, headers={"Retry-After": "1"}), Reply(json={"data": []})])
        web.route("GET", "/1/user/{user}/listens", lambda req: Reply(json={"user": req.params["user"]}))
        mb_limit = RateLimit(min_interval_s=1.0)          # shared by every route it is passed to
        web.json("GET", "/ws/2/release/{mbid}", {...}, limit=mb_limit)
        ...  # point the code under test at web.base_url
        assert web.count("GET", "/ws/2/recording/{mbid}") == 1
        assert web.violations == []

Public API::

    Reply(status=200, *, json=None, body=b"", headers={}, delay_s=0.0, content_type=None, drop=False)
        Reply.raw(body, status=200, *, content_type=..., headers=None)
        Reply.html(status, text, *, headers=None)
        Reply.truncated_json(obj, status=200, *, headers=None)
        Reply.dropped()
    Request(method, path, query, headers, body, at, params, route, rate_limited)  .json() .text() .header()
    RateLimit(min_interval_s=None, *, per_window=None, window_s=None, status=503, headers=None,
              reply=None, tolerance_s=0.0)
    FakeWeb(host="127.0.0.1")
        start() / stop() / context manager; base_url; url(path)
        route(method, pattern, handler, *, limit=None)
        reply(method, pattern, reply, *, limit=None)
        json(method, pattern, obj, *, status=200, headers=None, limit=None)
        sequence(method, pattern, replies, *, limit=None)
        requests; requests_for(method, pattern); count(method, pattern); violations; handler_errors; reset()
    fake_web, fake_web_factory       # pytest fixtures (import them into a conftest.py)

Route patterns are paths with ``{name}`` placeholders, each matching one non-empty path segment; the
decoded values arrive in ``Request.params``. The most recently registered matching route wins, so a
test can override a route a fixture set up. Unknown routes (and known paths with another method)
answer 404 ``{"error": "not found"}`` and are recorded like any other request.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import re
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

__all__ = [
    "FakeWeb",
    "Handler",
    "RateLimit",
    "Reply",
    "Request",
    "fake_web",
    "fake_web_factory",
]

_JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Reply:
    """What the fake answers. ``json`` (if not None) is serialised as the body; otherwise ``body`` is sent.

    ``delay_s`` sleeps in the server thread before answering (slow service, client timeouts).
    ``drop`` closes the connection without any answer (connection reset). ``content_type`` overrides
    the default (JSON for ``json``, ``application/octet-stream`` for a non-empty ``body``); a
    ``Content-Type`` in ``headers`` wins over both. To send a literal JSON ``null`` use ``body=b"null"``.
    """

    status: int = 200
    _: KW_ONLY
    json: Any = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content_type: str | None = None
    drop: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.status, int):
            raise TypeError(f"Reply status must be an int, got {self.status!r} (raw bytes go in Reply.raw)")
        if self.json is not None and self.body:
            raise ValueError("a Reply takes json or body, not both")

    @classmethod
    def raw(
        cls,
        body: bytes,
        status: int = 200,
        *,
        content_type: str = f"{_JSON_TYPE}; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Arbitrary bytes, sent unchanged (e.g. ``b"\\xef\\xbb\\xbf" + json`` as Last.fm does)."""
        return cls(status, body=body, content_type=content_type, headers=dict(headers or {}))

    @classmethod
    def html(cls, status: int, text: str, *, headers: Mapping[str, str] | None = None) -> Reply:
        """An HTML page, like the error pages proxies and CDNs put in front of JSON APIs."""
        return cls(status, body=text.encode(), content_type="text/html; charset=utf-8", headers=dict(headers or {}))

    @classmethod
    def truncated_json(cls, obj: Any, status: int = 200, *, headers: Mapping[str, str] | None = None) -> Reply:
        """The first half of ``obj``'s JSON, labelled as JSON: a body cut off mid-transfer."""
        text = jsonlib.dumps(obj)
        cut = text[: len(text) // 2]
        try:
            jsonlib.loads(cut)
        except ValueError:
            return cls(status, body=cut.encode(), content_type=_JSON_TYPE, headers=dict(headers or {}))
        raise ValueError(f"half of {text!r} is still valid JSON; pass an object or array with content")

    @classmethod
    def dropped(cls) -> Reply:
        """Close the connection without answering."""
        return cls(drop=True)

    def encoded(self) -> tuple[bytes, str | None]:
        """The body bytes and default content type this reply sends."""
        if self.json is not None:
            return jsonlib.dumps(self.json).encode(), self.content_type or _JSON_TYPE
        if self.body:
            return self.body, self.content_type or "application/octet-stream"
        return b"", self.content_type


@dataclass(frozen=True)
class Request:
    """One request as the fake received it.

    ``path`` is as sent (still percent-encoded, no query); ``query`` is decoded, blank values kept;
    ``headers`` has lower-case names (repeated headers joined with ", "); ``at`` is ``time.monotonic()``
    on arrival; ``params`` are the decoded ``{name}`` values of the matched route, whose pattern is in
    ``route`` (None for a 404); ``rate_limited`` says a :class:`RateLimit` refused it.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float
    params: dict[str, str] = field(default_factory=dict)
    route: str | None = None
    rate_limited: bool = False

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


Handler = Callable[[Request], Reply]


class RateLimit:
    """A server-side rate limit that one or more routes share (pass the same instance to each).

    Two rules, usable together: ``min_interval_s`` refuses a request arriving sooner than that after the
    previous accepted one; ``per_window``/``window_s`` refuses one when ``per_window`` requests were
    already accepted in the trailing ``window_s`` seconds. Refused requests don't consume capacity (like
    a token bucket), never reach the route's handler, and are answered with ``reply`` or else
    ``status``/``headers`` and a JSON error. ``tolerance_s`` forgives that much clock jitter.
    The limit is global: it does not tell clients apart.
    """

    def __init__(
        self,
        min_interval_s: float | None = None,
        *,
        per_window: int | None = None,
        window_s: float | None = None,
        status: int = 503,
        headers: Mapping[str, str] | None = None,
        reply: Reply | None = None,
        tolerance_s: float = 0.0,
    ) -> None:
        if (per_window is None) != (window_s is None):
            raise ValueError("per_window and window_s go together")
        if min_interval_s is None and per_window is None:
            raise ValueError("give min_interval_s, or per_window and window_s")
        self.min_interval_s = min_interval_s
        self.per_window = per_window
        self.window_s = window_s
        self.tolerance_s = tolerance_s
        self.reply = reply or Reply(status, json={"error": "rate limit exceeded"}, headers=dict(headers or {}))
        self._lock = threading.Lock()
        self._last: float | None = None
        self._accepted: deque[float] = deque()

    def admit(self, at: float) -> bool:
        """Account for a request arriving at monotonic time ``at``; False means refuse it."""
        with self._lock:
            if (
                self.min_interval_s is not None
                and self._last is not None
                and at - self._last < self.min_interval_s - self.tolerance_s
            ):
                return False
            if self.per_window is not None and self.window_s is not None:
                horizon = at - self.window_s + self.tolerance_s
                while self._accepted and self._accepted[0] <= horizon:
                    self._accepted.popleft()
                if len(self._accepted) >= self.per_window:
                    return False
                self._accepted.append(at)
            self._last = at
            return True


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    limit: RateLimit | None


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _compile(pattern: str) -> re.Pattern[str]:
    if not pattern.startswith("/"):
        raise ValueError(f"route pattern must start with '/': {pattern!r}")
    parts: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[pos : m.start()]))
        parts.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("".join(parts))


class _Sequence:
    """Successive replies; the last one repeats forever."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        if not replies:
            raise ValueError("a sequence needs at least one reply")
        self._replies = list(replies)
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Reply:
        with self._lock:
            reply = self._replies[min(self._next, len(self._replies) - 1)]
            self._next += 1
            return reply


class FakeWeb:
    """The fake server. Thread-safe; start it (or use ``with``) before reading :attr:`base_url`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._lock = threading.Lock()
        self._routes: list[_Route] = []
        self._requests: list[Request] = []
        self._errors: list[BaseException] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeWeb:
        if self._server is not None:
            raise RuntimeError("FakeWeb already started")
        self._stopping.clear()
        self._server = _Server((self._host, 0), self)
        # A short poll interval keeps stop() quick: shutdown() waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fakeweb", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, wake sleeping handlers and join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()  # ends serve_forever
        server.close_connections()  # unblock keep-alive readers so their threads end
        server.server_close()  # joins the handler threads (block_on_close)
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeWeb:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeWeb is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base_url + path

    # -- routes ----------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler, *, limit: RateLimit | None = None) -> None:
        """Answer ``method pattern`` with ``handler(request)``, subject to ``limit`` if given."""
        new = _Route(method.upper(), pattern, _compile(pattern), handler, limit)
        with self._lock:
            self._routes.append(new)

    def reply(self, method: str, pattern: str, reply: Reply, *, limit: RateLimit | None = None) -> None:
        """Answer every matching request with the same ``reply``."""
        self.route(method, pattern, lambda _request: reply, limit=limit)

    def json(
        self,
        method: str,
        pattern: str,
        obj: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        limit: RateLimit | None = None,
    ) -> None:
        """Answer every matching request with ``obj`` as JSON."""
        self.reply(method, pattern, Reply(status, json=obj, headers=dict(headers or {})), limit=limit)

    def sequence(self, method: str, pattern: str, replies: Sequence[Reply], *, limit: RateLimit | None = None) -> None:
        """Answer with ``replies`` in turn; once exhausted, the last one repeats."""
        self.route(method, pattern, _Sequence(replies), limit=limit)

    # -- recordings ------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_for(self, method: str, pattern: str) -> list[Request]:
        """Recorded requests with this method whose path matches ``pattern`` (routed or not)."""
        regex = _compile(pattern)
        return [r for r in self.requests if r.method == method.upper() and regex.fullmatch(r.path)]

    def count(self, method: str, pattern: str) -> int:
        return len(self.requests_for(method, pattern))

    @property
    def violations(self) -> list[Request]:
        """Requests refused by a :class:`RateLimit`."""
        return [r for r in self.requests if r.rate_limited]

    @property
    def handler_errors(self) -> list[BaseException]:
        """Exceptions raised by handlers (each answered 500); a non-empty list is a bug in the test."""
        with self._lock:
            return list(self._errors)

    def reset(self) -> None:
        """Forget recorded requests and handler errors; routes stay."""
        with self._lock:
            self._requests.clear()
            self._errors.clear()

    # -- serving (called from handler threads) ---------------------------------------------------

    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes, at: float) -> Reply:
        split = urlsplit(target)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            routes = list(self._routes)
        for route in reversed(routes):  # latest registration wins
            if route.method != method:
                continue
            m = route.regex.fullmatch(path)
            if m is None:
                continue
            params = {k: unquote(v) for k, v in m.groupdict().items()}
            limited = route.limit is not None and not route.limit.admit(at)
            request = Request(method, path, query, headers, body, at, params, route.pattern, limited)
            self._record(request)
            if route.limit is not None and limited:
                return route.limit.reply
            try:
                return route.handler(request)
            except Exception as exc:
                with self._lock:
                    self._errors.append(exc)
                return Reply(500, body=traceback.format_exc().encode(), content_type="text/plain; charset=utf-8")
        self._record(Request(method, path, query, headers, body, at))
        return Reply(404, json={"error": "not found"})

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads that server_close() joins: stop() leaves no thread behind.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], web: FakeWeb) -> None:
        self.web = web
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the peer
                conn.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive like real APIs do, so client connection pools are exercised.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request on Linux loopback).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def _handle(self) -> None:
        at = time.monotonic()
        web = self.server.web
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        body = self._read_body(headers)
        reply = web._dispatch(self.command, self.path, headers, body, at)
        if reply.delay_s > 0 and web._stopping.wait(reply.delay_s):
            reply = Reply.dropped()  # shutting down: don't keep stop() waiting for a slow answer
        if reply.drop:
            self.close_connection = True
            return
        payload, content_type = reply.encoded()
        try:
            self.send_response(reply.status)
            names = {k.lower() for k in reply.headers}
            if content_type is not None and "content-type" not in names:
                self.send_header("Content-Type", content_type)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout fired)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(headers.get("content-length", "0") or "0")
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


@pytest.fixture
def fake_web() -> Iterator[FakeWeb]:
    """A running :class:`FakeWeb`, stopped after the test."""
    with FakeWeb() as web:
        yield web


@pytest.fixture
def fake_web_factory() -> Iterator[Callable[[], FakeWeb]]:
    """Make as many running servers as the test needs (say one per external API); all stopped after."""
    webs: list[FakeWeb] = []

    def make() -> FakeWeb:
        web = FakeWeb().start()
        webs.append(web)
        return web

    yield make
    for web in webs:
        web.stop()
