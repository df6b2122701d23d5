"""Last.fm `user.getRecentTracks`, with its quirks.

- Errors come back in the body, often with HTTP 200: `{"error": 29, "message": "Rate limit exceeded"}`.
  29 (rate limit) and the temporary codes 8, 11, 16 are retried with back-off; 17 is a private user, 6 an unknown
  one, 4/9/10/26 a bad or suspended API key.
- One result comes back as an object where a list is expected.
- The body may start with a UTF-8 BOM (the client strips it).
- The track being played right now carries `@attr.nowplaying` and no date: it is not a listen (yet).
- Pages run newest first; this feed reads the last page first so the cursor can move after each page.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts.livesettings import UserAccounts
from infra.http import ApiClient, BadResponse, ClientError, ExternalError, NotFound, SourceUnavailable

from ..domain.listens import Listen

__all__ = ["LastfmFeed", "parse_recent_tracks"]

ENDPOINT = "user.getRecentTracks"
_RETRYABLE = {29: "rate_limited", 8: "unavailable", 11: "unavailable", 16: "unavailable"}
_UNAUTHORIZED = {4, 9, 10, 26}
PAGE_LIMIT = 200


def _error(code: int, message: str, status: int | None) -> ExternalError:
    if code in _RETRYABLE:
        return SourceUnavailable("lastfm", ENDPOINT, status, _RETRYABLE[code], f"error {code}: {message}")
    if code == 17:
        return ClientError("lastfm", ENDPOINT, status, "private_user", f"error 17: {message}")
    if code == 6:
        return NotFound("lastfm", ENDPOINT, status, "not_found", f"error 6: {message}")
    if code in _UNAUTHORIZED:
        return ClientError("lastfm", ENDPOINT, status, "unauthorized", f"error {code}: {message}")
    return ClientError("lastfm", ENDPOINT, status, "client_error", f"error {code}: {message}")


def _body_error(body: Any) -> tuple[int, str] | None:
    if isinstance(body, dict) and "error" in body:
        try:
            return int(body["error"]), str(body.get("message", ""))
        except (TypeError, ValueError):
            return -1, str(body)
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("#text") or value.get("name") or "")
    return str(value or "")


def _mbid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def parse_recent_tracks(body: Any) -> tuple[list[Listen], int]:
    """The listens of one page (oldest first, now-playing left out) and the number of pages."""
    try:
        recent = body["recenttracks"]
        attr = recent.get("@attr") or {}
        pages = int(attr.get("totalPages") or 1)
        tracks = _as_list(recent.get("track"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadResponse("lastfm", ENDPOINT, 200, "unexpected_shape", f"no recenttracks: {exc}") from exc
    listens = []
    for track in tracks:
        if not isinstance(track, dict):
            raise BadResponse("lastfm", ENDPOINT, 200, "unexpected_shape", f"track is {type(track).__name__}")
        if str((track.get("@attr") or {}).get("nowplaying", "")).lower() == "true":
            continue  # playing right now: it becomes a listen once scrobbled, with a date
        date = track.get("date")
        if not isinstance(date, dict) or not date.get("uts"):
            continue
        uts = int(date["uts"])
        artist, title = _text(track.get("artist")), str(track.get("name") or "")
        ids = {k: str(track[k]) for k in ("url",) if track.get(k)}
        if track.get("mbid"):
            ids["track_mbid"] = str(track["mbid"])
        listens.append(
            Listen(
                source="lastfm",
                listened_at=datetime.fromtimestamp(uts, UTC),
                artist=artist,
                title=title,
                album=_text(track.get("album")) or None,
                recording_mbid=_mbid(track.get("mbid")),
                play_identity=f"{uts}:{artist}/{title}",
                source_ids=ids,
                raw=track,
            )
        )
    listens.sort(key=lambda listen: listen.timestamp)
    return listens, max(1, pages)


class LastfmFeed:
    name = "lastfm"

    def __init__(self, client: ApiClient, api_key: str | None, error_retries: int = 3) -> None:
        self.client = client
        self.api_key = api_key
        self.error_retries = error_retries

    def account_of(self, accounts: UserAccounts) -> str | None:
        return accounts.lastfm_user

    async def _page(self, user: str, since_ts: int, page: int) -> Any:
        if not self.api_key:
            raise ClientError("lastfm", ENDPOINT, None, "unauthorized", "BRAINSTREAM_LASTFM_API_KEY is not set")
        params = {
            "method": "user.getrecenttracks",
            "user": user,
            "api_key": self.api_key,
            "format": "json",
            "limit": PAGE_LIMIT,
            "page": page,
            "from": since_ts,
        }
        for attempt in range(self.error_retries + 1):
            try:
                body = await self.client.get_json("/", params)
            except ClientError as exc:  # Last.fm's 4xx carry the same error body
                parsed = _json_or_none(exc.detail)
                err = _body_error(parsed)
                raise (_error(err[0], err[1], exc.status) if err else exc) from exc
            except NotFound as exc:
                err = _body_error(_json_or_none(exc.detail))
                raise (_error(err[0], err[1], 404) if err else exc) from exc
            err = _body_error(body)
            if err is None:
                return body
            failure = _error(err[0], err[1], 200)
            if not isinstance(failure, SourceUnavailable) or attempt >= self.error_retries:
                raise failure
            delay = min(self.client.settings.backoff_max_s, self.client.settings.backoff_base_s * 2.0**attempt)
            if self.client.limiter is not None:
                self.client.limiter.penalize(delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def pages(self, accounts: UserAccounts, since_ts: int) -> AsyncIterator[list[Listen]]:
        user = accounts.lastfm_user
        if not user:
            return
        first, total = parse_recent_tracks(await self._page(user, since_ts, 1))
        for page in range(total, 1, -1):  # oldest page first; page 1 (fetched already) last
            listens, _ = parse_recent_tracks(await self._page(user, since_ts, page))
            yield listens
        yield first


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text.lstrip("\ufeff"))  # the error bodies carry the BOM too
    except ValueError:
        return None
