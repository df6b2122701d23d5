"""The history store kept live: its three consumers, and the background retry of plays still unmatched."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import UUID

from contracts.base import Message
from contracts.gateway import MatchListen
from infra.runtime import Delivery, Handler

from .fold import HistoryFold

__all__ = ["HISTORY_DURABLES", "Rematcher", "history_handlers", "retry_delay_s"]

HISTORY_DURABLES = {
    "gateway_history_ingest": "INGEST",
    "gateway_history_resolve": "RESOLVE",
    "gateway_history_library": "LIBRARY",
}
_NS = uuid.UUID("0b9d1c3e-7f64-4c1a-a0d2-5e8f3b6c9a71")


def history_handlers(fold: HistoryFold) -> dict[str, Handler]:
    def make(stream: str) -> Handler:
        async def handle(event: Message, delivery: Delivery) -> None:
            await asyncio.to_thread(fold.apply, [(event, stream, delivery.stream_sequence)])

        return handle

    return {durable: make(stream) for durable, stream in HISTORY_DURABLES.items()}


def retry_delay_s(attempts: int, base_s: float, cap_s: float) -> float:
    """Back-off after `attempts` misses: base, 4x base, 16x base … never past the cap."""
    return float(min(cap_s, base_s * 4.0 ** max(0, attempts - 1)))


class Rematcher:
    """Asks resolve-svc again for plays still unmatched once their back-off has passed.

    The command's id comes from the play's listen and attempt, so a round repeated before the answer arrives is
    stored once by the server's duplicate window; the answer (`ListenMatched`/`ListenUnmatched` with the next attempt
    number) moves the play's back-off on.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        publish: Callable[[Message], Awaitable[object]],
        *,
        base_s: float,
        cap_s: float,
        batch: int = 200,
    ) -> None:
        self.conn = conn
        self.publish = publish
        self.base_s, self.cap_s, self.batch = base_s, cap_s, batch

    def due(self, now: float) -> list[MatchListen]:
        # the back-off in SQL (base x 4^(attempts-1), capped), so plays waiting long never hide the ones that are due
        rows = self.conn.execute(
            "SELECT p.user, p.match_attempts, s.listen_id, s.source, s.artist, s.title, s.album, s.duration_ms, "
            "s.recording_mbid, s.isrc FROM history_plays p JOIN history_sightings s ON s.listen_id = p.play_id "
            "WHERE p.match_state = 'unmatched' AND p.last_try_ts IS NOT NULL "
            "AND p.last_try_ts + MIN(?, ? * (1 << (2 * MIN(MAX(p.match_attempts - 1, 0), 30)))) <= ? "
            "ORDER BY p.last_try_ts, p.played_ts LIMIT ?",
            (self.cap_s, self.base_s, now, self.batch),
        ).fetchall()
        out: list[MatchListen] = []
        for user, attempts, listen_id, source, artist, title, album, duration, mbid, isrc in rows:
            attempt = attempts + 1
            out.append(
                MatchListen(
                    event_id=uuid.uuid5(_NS, f"{listen_id}:{attempt}"),
                    user=user,
                    listen_id=UUID(listen_id),
                    source=source,
                    artist=artist,
                    title=title,
                    album=album,
                    duration_ms=duration,
                    recording_mbid=UUID(mbid) if mbid else None,
                    isrc=isrc,
                    attempt=attempt,
                )
            )
        return out

    async def round(self) -> int:
        commands = await asyncio.to_thread(self.due, datetime.now(UTC).timestamp())
        for command in commands:
            await self.publish(command)
        if commands:
            logging.getLogger(__name__).info("asked again for %d unmatched plays", len(commands))
        return len(commands)
