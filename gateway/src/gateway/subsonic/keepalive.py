"""The client for the small answers of /rest (the JSON/XML envelopes of the API calls): aiohttp with a pool of
kept-alive connections per upstream, the whole body read and handed back.

Streams, downloads, covers, ranges and HEAD go over the gateway's other aiohttp session, relayed chunk by chunk and
aware of a client that hangs up. This one has its own pool so that a few long streams never hold the connections
the API calls need. It sends only the headers it is given (no User-Agent, Accept or Accept-Encoding of its own),
keeps no cookies (one pool serves every user), does not follow redirects and does not decompress: what the upstream
says goes back to the client as it said it. aiohttp sets TCP_NODELAY on its connections, and sends a GET again once
on a new connection when a reused one turns out to have been closed by the upstream (its idle timeout).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiohttp
from yarl import URL

__all__ = ["Answer", "KeepAlivePool", "UpstreamError"]

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
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use: it belongs to the event loop that serves the requests."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=self._limit, keepalive_timeout=_IDLE_S),
                timeout=aiohttp.ClientTimeout(sock_connect=self._timeout_s, sock_read=self._timeout_s),
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                auto_decompress=False,
            )
        return self._session

    async def get(self, base_url: str, path_and_query: str, headers: Iterable[tuple[str, str]]) -> Answer:
        """GET `base_url` + `path_and_query` (already encoded) with exactly `headers`."""
        url = URL(base_url.rstrip("/") + path_and_query, encoded=True)
        if url.scheme not in ("http", "https") or not url.host:
            raise UpstreamError(f"not an http(s) URL: {base_url}")
        try:
            async with self._open().get(url, headers=list(headers), allow_redirects=False) as resp:
                if (resp.content_length or 0) > self._max_body:
                    resp.close()
                    raise UpstreamError(f"an API answer over {self._max_body} bytes")
                parts, size = [], 0
                async for chunk in resp.content.iter_any():
                    size += len(chunk)
                    if size > self._max_body:
                        resp.close()  # the rest is not read: the connection cannot carry another request
                        raise UpstreamError(f"an API answer over {self._max_body} bytes")
                    parts.append(chunk)
                keep = self._keep
                kept = [(name.lower(), value) for name, value in resp.raw_headers if name.lower() in keep]
                return Answer(resp.status, kept, parts[0] if len(parts) == 1 else b"".join(parts))
        except aiohttp.ClientConnectorError as exc:
            raise UpstreamError(f"cannot connect to {url.host}:{url.port}: {exc.os_error or exc}") from exc
        except aiohttp.ClientPayloadError as exc:
            raise UpstreamError(f"connection closed mid-answer ({exc})") from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise UpstreamError(f"connection closed mid-answer ({exc})") from exc
        except aiohttp.ClientResponseError as exc:  # the parser's verdict: what came back is not HTTP
            raise UpstreamError(f"not an HTTP answer: {exc.message}") from exc
        except TimeoutError as exc:
            raise UpstreamError(f"no answer for {self._timeout_s:g} s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Close the connections; a request in flight fails."""
        if self._session is not None:
            await self._session.close()
