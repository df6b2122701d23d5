"""The one way BrainStream talks HTTP to the outside: a client factory with a meaningful User-Agent, timeouts,
retries with back-off, rate limiting per host, and structured errors.

- 429 and 503 honour `Retry-After`; ListenBrainz's `X-RateLimit-Remaining: 0` waits `X-RateLimit-Reset-In`.
- 5xx, timeouts and connection errors back off exponentially, then raise `SourceUnavailable` (redeliver).
- An HTML page or broken JSON where JSON was expected raises `BadResponse` (also a fault of the source).
- 404 raises `NotFound`: an answer, which callers turn into "not found" events rather than retries.
- Other 4xx raise `ClientError` (a bad token, a private user): retrying cannot help.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Protocol

import httpx
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from . import __version__
from .metrics import EXTERNAL_REQUESTS, EXTERNAL_SECONDS, RATE_LIMIT_WAIT_SECONDS, RATE_LIMIT_WAITS, process_service
from .upstreams import UPSTREAMS, describe_failure

__all__ = [
    "ApiClient",
    "BadResponse",
    "ClientError",
    "ExternalError",
    "HttpSettings",
    "IntervalLimiter",
    "NotFound",
    "RateLimiter",
    "SourceUnavailable",
    "user_agent",
]

log = logging.getLogger(__name__)


class HttpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    contact: str = Field(default="", validation_alias=AliasChoices("BRAINSTREAM_CONTACT"))
    """How the operators of an API can reach you (an e-mail or URL); sent in the User-Agent as MusicBrainz asks."""
    timeout_s: float = Field(default=15.0, gt=0, validation_alias=AliasChoices("BRAINSTREAM_HTTP_TIMEOUT"))
    """Per-request timeout for external APIs."""
    max_retries: int = Field(default=4, ge=0, validation_alias=AliasChoices("BRAINSTREAM_HTTP_RETRIES"))
    """Retries of one request on faults (timeouts, 5xx, 429) before giving up with SourceUnavailable."""
    backoff_base_s: float = Field(default=0.5, ge=0, validation_alias=AliasChoices("BRAINSTREAM_HTTP_BACKOFF"))
    """First back-off delay; it doubles per retry, with jitter."""
    backoff_max_s: float = Field(default=30.0, ge=0, validation_alias=AliasChoices("BRAINSTREAM_HTTP_BACKOFF_MAX"))
    """Longest single wait, whatever a server asks for."""


def user_agent(contact: str) -> str:
    return f"BrainStream/{__version__} ( {contact or 'contact not configured; set BRAINSTREAM_CONTACT'} )"


class ExternalError(Exception):
    """A call to an external service that did not give a usable answer."""

    retryable = False

    def __init__(self, service: str, endpoint: str, status: int | None, reason: str, detail: str = "") -> None:
        self.service = service
        self.endpoint = endpoint
        self.status = status
        self.reason = reason
        self.detail = detail
        status_text = f" HTTP {status}" if status is not None else ""
        super().__init__(f"{service} {endpoint}:{status_text} {reason}{': ' + detail if detail else ''}")


class SourceUnavailable(ExternalError):
    """Timeout, connection failure, 5xx or rate limit that outlasted the retries: redeliver later."""

    retryable = True


class BadResponse(SourceUnavailable):
    """The source answered, but not with what its API promises (an HTML error page, truncated JSON)."""


class NotFound(ExternalError):
    """404: an answer, not a fault."""


class ClientError(ExternalError):
    """4xx other than 404/429: our request or credentials are wrong; retrying cannot help."""


class RateLimiter(Protocol):
    async def acquire(self) -> float:
        """Wait for a request slot; return the seconds waited."""
        ...

    def penalize(self, delay_s: float) -> None:
        """The server asked for a pause: no slot is handed out for `delay_s`."""
        ...


class IntervalLimiter:
    """At most one request per `interval_s` from this process (ListenBrainz asks for 1/s)."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        async with self._lock:
            now = time.monotonic()
            wait = max(0.0, self._next - now)
            if wait:
                await asyncio.sleep(wait)
            self._next = max(now, self._next) + self.interval_s
            return wait

    def penalize(self, delay_s: float) -> None:
        self._next = max(self._next, time.monotonic() + delay_s)


@dataclass
class ClientStats:
    requests: Counter[int] = field(default_factory=Counter)
    """Responses by status; 0 counts timeouts and connection errors."""
    retries: int = 0
    rate_limit_wait_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither seconds nor an HTTP date: back off as if none was sent
        log.info("ignoring a malformed Retry-After %r", value[:100])
        return None
    if when.tzinfo is None:  # an HTTP date is GMT even when written without a zone
        when = when.replace(tzinfo=UTC)
    return max(0.0, float(when.timestamp()) - time.time())


class ApiClient:
    """HTTP client for one external service. Build it in a composition root; close it with `aclose()`."""

    def __init__(
        self,
        service: str,
        base_url: str,
        settings: HttpSettings | None = None,
        *,
        limiter: RateLimiter | None = None,
        headers: dict[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        follow_redirects: bool = True,
    ) -> None:
        self.service = service
        self.settings = settings or HttpSettings()
        self.limiter = limiter
        self.stats = ClientStats()
        UPSTREAMS.expect(service)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"User-Agent": user_agent(self.settings.contact), "Accept": "application/json", **(headers or {})},
            timeout=self.settings.timeout_s,
            transport=transport,
            follow_redirects=follow_redirects,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.backoff_max_s, self.settings.backoff_base_s * 2.0**attempt)
        return delay * random.uniform(0.8, 1.2)  # jitter, so replicas do not retry in step

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send with retries; return a 2xx response or raise an `ExternalError`.

        The outcome goes into this process's upstream book: an answer (even a 404 or a refusal) is a success of the
        upstream, a `SourceUnavailable` its failure."""
        try:
            resp = await self._request(method, path, params=params, json_body=json_body, data=data, headers=headers)
        except SourceUnavailable as exc:
            UPSTREAMS.failure(self.service, describe_failure(exc))
            raise
        except ExternalError:
            UPSTREAMS.success(self.service)
            raise
        UPSTREAMS.success(self.service)
        return resp

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | list[tuple[str, Any]] | None,
        json_body: Any,
        data: dict[str, Any] | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        endpoint = path.split("?")[0]
        last_reason, last_status, last_detail = "unavailable", None, ""
        for attempt in range(self.settings.max_retries + 1):
            if self.limiter is not None:
                waited = await self.limiter.acquire()
                self.stats.rate_limit_wait_s += waited
                if waited > 0:
                    RATE_LIMIT_WAITS.labels(process_service(), self.service).inc()
                    RATE_LIMIT_WAIT_SECONDS.labels(process_service(), self.service).inc(waited)
            sent = time.perf_counter()
            try:
                resp = await self._http.request(method, path, params=params, json=json_body, data=data, headers=headers)
            except httpx.TimeoutException as exc:
                self._count(0, sent)
                last_reason, last_status, last_detail = "timeout", None, type(exc).__name__
            except httpx.TransportError as exc:
                self._count(0, sent)
                last_reason, last_status, last_detail = "connection_failed", None, _transport_detail(exc)
            else:
                self._count(resp.status_code, sent)
                self._note_rate_headers(resp)
                if resp.is_success:
                    return resp
                last_status, last_detail = resp.status_code, _snippet(resp)
                if resp.status_code == 404:
                    raise NotFound(self.service, endpoint, 404, "not_found", last_detail)
                if resp.status_code in (429, 503):
                    last_reason = "rate_limited" if resp.status_code == 429 else "unavailable"
                    pause = _retry_after(resp.headers)
                    if pause is not None and self.limiter is not None:
                        self.limiter.penalize(min(pause, self.settings.backoff_max_s))
                    if attempt < self.settings.max_retries:
                        self.stats.retries += 1
                        delay = pause if pause is not None else self._backoff(attempt)
                        if self.limiter is None or pause is None:
                            await asyncio.sleep(min(delay, self.settings.backoff_max_s))
                        continue
                    break
                if resp.status_code >= 500:
                    last_reason = "server_error"
                else:
                    raise ClientError(self.service, endpoint, resp.status_code, "client_error", last_detail)
            if attempt < self.settings.max_retries:
                self.stats.retries += 1
                delay = self._backoff(attempt)
                # the caller logs the failure once if the retries do not help; each retry is detail
                log.debug("%s %s: %s, retry %d in %.1fs", self.service, endpoint, last_reason, attempt + 1, delay)
                await asyncio.sleep(delay)
        raise SourceUnavailable(self.service, endpoint, last_status, last_reason, last_detail)

    def _count(self, status: int, sent: float) -> None:
        self.stats.requests[status] += 1
        svc = process_service()
        EXTERNAL_REQUESTS.labels(svc, self.service, str(status) if status else "error").inc()
        EXTERNAL_SECONDS.labels(svc, self.service).observe(time.perf_counter() - sent)

    def _note_rate_headers(self, resp: httpx.Response) -> None:
        # ListenBrainz: when this window is used up, wait until it resets instead of collecting a 429
        remaining = resp.headers.get("X-RateLimit-Remaining")
        reset_in = resp.headers.get("X-RateLimit-Reset-In")
        if remaining is not None and reset_in is not None and self.limiter is not None:
            try:
                if int(remaining) <= 0:
                    self.limiter.penalize(min(float(reset_in), self.settings.backoff_max_s))
            except ValueError:
                log.debug("%s sent unparsable rate-limit headers %r/%r", self.service, remaining, reset_in)

    async def get_json(
        self, path: str, params: dict[str, Any] | list[tuple[str, Any]] | None = None, **kwargs: Any
    ) -> Any:
        """GET and decode JSON. Returns None for 204 No Content."""
        resp = await self.request("GET", path, params=params, **kwargs)
        return self.decode_json(resp, path)

    def decode_json(self, resp: httpx.Response, path: str) -> Any:
        if resp.status_code == 204 or not resp.content:
            return None
        endpoint = path.split("?")[0]
        ctype = resp.headers.get("Content-Type", "")
        text = resp.content.decode("utf-8-sig", errors="replace")  # some APIs (Last.fm) prepend a BOM
        if "html" in ctype or text.lstrip()[:1] == "<":
            bad = BadResponse(self.service, endpoint, resp.status_code, "html_instead_of_json", _snippet(resp))
            UPSTREAMS.failure(self.service, describe_failure(bad))
            raise bad
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            bad = BadResponse(self.service, endpoint, resp.status_code, "invalid_json", str(exc))
            UPSTREAMS.failure(self.service, describe_failure(bad))
            raise bad from exc


def _transport_detail(exc: httpx.TransportError) -> str:
    """httpx says "All connection attempts failed"; the socket error beneath says why (refused, no such host)."""
    text = str(exc) or type(exc).__name__
    cause: BaseException | None = exc.__cause__ or exc.__context__
    for _ in range(6):
        if cause is None:
            break
        if isinstance(cause, OSError) and cause.errno is not None:
            return f"{text} ({cause.strerror or cause})"
        cause = cause.__cause__ or cause.__context__
    return text


def _snippet(resp: httpx.Response) -> str:
    text = resp.content[:300].decode("utf-8", errors="replace")
    return " ".join(text.split())
