"""How each external dependency is doing, as this process saw it, and failures said in words.

Every call through `infra.http.ApiClient` (and the few that are not HTTP, such as yt-dlp) records its outcome here.
The runtime reports the book as the `upstreams` health check; an upstream that has failed without a success for
longer than `degraded_after_s`, and was still being asked within the last `waiting_window_s` (work waits on it),
turns the service `degraded` and is named.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["UPSTREAMS", "Failure", "UpstreamBook", "describe_failure", "display_name", "upstream_key"]

_NAMES = {
    "musicbrainz": "MusicBrainz",
    "listenbrainz": "ListenBrainz",
    "itunes": "iTunes",
    "deezer": "Deezer",
    "coverartarchive": "Cover Art Archive",
    "lastfm": "Last.fm",
    "spotify": "Spotify",
    "slskd": "slskd",
    "yt-dlp": "yt-dlp",
    "navidrome": "Navidrome",
    "covers": "cover images",
    "images": "cover images",
}
_SAME_AS = {"spotify-accounts": "spotify", "images": "covers"}


def upstream_key(service: str) -> str:
    """One health entry per dependency: Spotify's token endpoint is Spotify."""
    return _SAME_AS.get(service, service)


def display_name(service: str) -> str:
    return _NAMES.get(upstream_key(service), service)


@dataclass(frozen=True)
class Failure:
    """A failure in words: `short` for a banner ("unreachable"), `text` for a journey ("MusicBrainz unreachable:
    connection refused")."""

    upstream: str | None
    short: str
    text: str


_REFUSED = re.compile(r"connection refused|errno 111|connect call failed", re.I)
_DNS = re.compile(r"name or service not known|nodename nor servname|temporary failure in name resolution", re.I)


def _connection_words(detail: str) -> str:
    if _REFUSED.search(detail):
        return "connection refused"
    if _DNS.search(detail):
        return "host name not found"
    if "reset" in detail.lower():
        return "connection reset"
    return detail or "connection failed"


def _external(exc: BaseException) -> BaseException | None:
    """The `ExternalError` behind an exception, following its causes (an adapter may wrap it)."""
    from .http import ExternalError  # http imports this module; the import is here to keep the order simple

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ExternalError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def describe_failure(exc: BaseException) -> Failure:
    """What went wrong, in words a person reads; the upstream at fault when there is one."""
    from .http import BadResponse, ClientError, ExternalError

    ext = _external(exc)
    if isinstance(ext, ExternalError):
        key = upstream_key(ext.service)
        name = display_name(ext.service)
        status = f"HTTP {ext.status}" if ext.status is not None else ""
        if ext.reason == "connection_failed":
            short, why = "unreachable", _connection_words(ext.detail)
        elif ext.reason == "timeout":
            short, why = "not answering", "no answer in time"
        elif ext.reason == "rate_limited":
            short, why = "rate-limiting", f"too many requests ({status or 'HTTP 429'})"
        elif ext.reason in ("unavailable", "server_error"):
            short, why = "unavailable", status or ext.reason
        elif isinstance(ext, BadResponse):
            short, why = "answering wrongly", ext.reason.replace("_", " ")
        elif isinstance(ext, ClientError):
            short, why = "refusing the request", f"{status} {ext.detail}".strip()[:200]
        else:
            short, why = ext.reason.replace("_", " "), status
        return Failure(key, short, f"{name} {short}: {why}" if why else f"{name} {short}")
    text = str(exc)
    words = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    if isinstance(exc, TimeoutError) and "limit" in text:
        words = f"took too long: {text}"
    return Failure(None, "failed", words[:500])


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None


@dataclass
class _Entry:
    last_success: float | None = None
    last_failure: float | None = None
    failing_since: float | None = None
    reason: str = ""
    short: str = ""
    failures: int = 0


class UpstreamBook:
    """Per upstream: last success, last failure with its reason, and since when it fails without a success."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()  # yt-dlp records from a worker thread

    def expect(self, service: str) -> None:
        """A dependency this process uses: it has an entry before its first call."""
        with self._lock:
            self._entries.setdefault(upstream_key(service), _Entry())

    def success(self, service: str, at: float | None = None) -> None:
        with self._lock:
            entry = self._entries.setdefault(upstream_key(service), _Entry())
            entry.last_success = at if at is not None else time.time()
            entry.failing_since = None
            entry.failures = 0

    def failure(self, service: str, failure: Failure, at: float | None = None) -> None:
        now = at if at is not None else time.time()
        with self._lock:
            entry = self._entries.setdefault(upstream_key(service), _Entry())
            entry.last_failure = now
            entry.reason, entry.short = failure.text, failure.short
            entry.failures += 1
            if entry.failing_since is None:
                entry.failing_since = now

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def report(self, degraded_after_s: float, waiting_window_s: float, now: float | None = None) -> dict[str, Any]:
        """Entries by upstream, and which of them make the service degraded."""
        now = now if now is not None else time.time()
        out: dict[str, Any] = {}
        with self._lock:
            items = list(self._entries.items())
        for key, e in sorted(items):
            degraded = (
                e.failing_since is not None
                and now - e.failing_since >= degraded_after_s
                and e.last_failure is not None
                and now - e.last_failure <= waiting_window_s
            )
            out[key] = {
                "name": display_name(key),
                "last_success": _iso(e.last_success),
                "last_failure": _iso(e.last_failure),
                "failing_since": _iso(e.failing_since),
                "reason": e.reason,
                "short": e.short,
                "failures": e.failures,
                "degraded": degraded,
            }
        return out


UPSTREAMS = UpstreamBook()
"""This process's book; like the metrics registry, one per process."""
