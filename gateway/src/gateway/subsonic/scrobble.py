"""With Navidrome upstream, a submitted scrobble becomes `ScrobbleSubmitted` so ingest-svc records the listen; with
either upstream, a "now playing" report (submission=false) becomes `NowPlayingReported`."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import aiohttp

from contracts.base import Message
from contracts.gateway import NowPlayingReported, ScrobbleSubmitted

from .upstream import Upstream

__all__ = ["ScrobblePublisher"]

log = logging.getLogger(__name__)
_NS = uuid.UUID("5b0a54c2-5f7e-4c55-9d0c-2f4f7c0d6a11")


def _played_at(value: str | None) -> datetime:
    """Subsonic's `time` is milliseconds since the epoch; absent means now."""
    if value and value.isdigit():
        try:
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            log.warning("scrobble time %s is not milliseconds since the epoch; using now", value)
    return datetime.now(UTC)


def _mbid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


class ScrobblePublisher:
    def __init__(self, publish: Callable[[Message], Awaitable[Any]]) -> None:
        self._publish = publish

    async def __call__(
        self, user: str, upstream: Upstream, params: list[tuple[str, str]], session: aiohttp.ClientSession
    ) -> None:
        ids = [v for k, v in params if k == "id"]
        times = [v for k, v in params if k == "time"]
        client = next((v for k, v in params if k == "c"), None)
        if next((v for k, v in params if k == "submission"), "true").lower() == "false":
            if ids:
                await self._now_playing(user, upstream, ids[0], client, session)
            return
        for i, song_id in enumerate(ids):
            at = _played_at(times[i] if i < len(times) else None)
            song = await self._song(upstream, song_id, session)
            # the same play relayed twice (a client retry) is one message: Nats-Msg-Id from the natural key
            event_id = uuid.uuid5(_NS, f"{user}|{song_id}|{int(at.timestamp())}")
            duration = song.get("duration")
            await self._publish(
                ScrobbleSubmitted(
                    event_id=event_id,
                    user=user,
                    song_id=song_id,
                    played_at=at,
                    client=client,
                    recording_mbid=_mbid(song.get("musicBrainzId")),
                    artist=song.get("artist"),
                    title=song.get("title"),
                    album=song.get("album"),
                    duration_ms=int(duration) * 1000 if isinstance(duration, int) and duration >= 0 else None,
                )
            )

    async def _now_playing(
        self, user: str, upstream: Upstream, song_id: str, client: str | None, session: aiohttp.ClientSession
    ) -> None:
        song = await self._song(upstream, song_id, session, user)
        duration = song.get("duration")
        await self._publish(
            NowPlayingReported(
                user=user,
                song_id=song_id,
                client=client,
                recording_mbid=_mbid(song.get("musicBrainzId")),
                artist=song.get("artist"),
                title=song.get("title"),
                album=song.get("album"),
                duration_ms=int(duration) * 1000 if isinstance(duration, int) and duration >= 0 else None,
            )
        )

    @staticmethod
    async def _song(
        upstream: Upstream, song_id: str, session: aiohttp.ClientSession, user: str | None = None
    ) -> dict[str, Any]:
        try:
            async with session.get(
                upstream.url("getSong"),
                params=upstream.params([("id", song_id), ("f", "json")]),
                headers=upstream.headers(user),  # the built-in API knows the user by this header
            ) as resp:
                body = await resp.json(content_type=None)
            song: dict[str, Any] = body["subsonic-response"]["song"]
            return song
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            log.warning("no metadata for scrobbled song %s (%s); publishing the id alone", song_id, exc)
            return {}
