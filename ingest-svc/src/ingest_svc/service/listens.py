"""Listens: poll each source from its cursor, record each play once, move the cursor only after publishing.

Per play: claim its key in `listen_gate` (atomic create) → publish `ListenRecorded` with an event id derived from
the key → mark the key done. A crash anywhere in between is safe:
- after the claim, before the publish: the key is pending, the next poll publishes it;
- after the publish, before `done` or before the cursor save: the next poll reads the play again, publishes it
  again with the same event id, and the server's duplicate window drops the copy;
- a play already done is skipped.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from contracts.base import Message
from contracts.common import ListenSource
from contracts.ingest import ListenRecorded
from contracts.livesettings import UserAccounts
from infra.http import ExternalError

from ..domain.listens import Listen, ListenCursor, listen_event_id, play_key, poll_window_start
from ..health import SourceHealth
from ..ports import CursorStore, EventPublisher, GateState, ListenFeed, ListenGate
from .failures import poll_failed

__all__ = ["ListenService", "PollResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    recorded: int
    seen: int
    cursor: int


class ListenService:
    def __init__(
        self,
        cursors: CursorStore,
        gate: ListenGate,
        publisher: EventPublisher,
        health: SourceHealth,
        *,
        lookback_s: float,
        concurrency: int = 256,
    ) -> None:
        self.cursors = cursors
        self.gate = gate
        self.publisher = publisher
        self.health = health
        self.lookback_s = lookback_s
        self.concurrency = concurrency

    async def record(self, user: str, listen: Listen, cause: Message | None = None) -> bool:
        """Record one play; True when this call published it for the first time."""
        key = play_key(user, listen)
        state = await self.gate.claim(key)
        if state == GateState.DONE:
            return False
        event_id = listen_event_id(key)
        event = ListenRecorded(
            event_id=event_id,
            correlation_id=cause.correlation_id if cause else event_id,
            causation_id=cause.event_id if cause else None,
            user=user,
            source=ListenSource(listen.source),
            listened_at=listen.listened_at,
            artist=listen.artist,
            title=listen.title,
            album=listen.album,
            duration_ms=listen.duration_ms,
            recording_mbid=listen.recording_mbid,
            isrc=listen.isrc,
            source_ids=listen.source_ids,
            raw=listen.raw,
        )
        await self.publisher.publish(event)
        await self.gate.done(key)
        return state == GateState.NEW

    async def record_all(self, user: str, listens: list[Listen]) -> int:
        """Record a page; returns once every play in it is durably published (or raises)."""
        recorded = 0
        for start in range(0, len(listens), self.concurrency):
            chunk = listens[start : start + self.concurrency]
            results = await asyncio.gather(*(self.record(user, listen) for listen in chunk))
            recorded += sum(results)
        return recorded

    async def poll(self, user: str, accounts: UserAccounts, feed: ListenFeed, first_poll_from_ts: int) -> PollResult:
        """Read one source from its cursor (minus the lookback) to now. External errors propagate."""
        cursor = await self.cursors.listens(user, feed.name)
        since = poll_window_start(cursor, self.lookback_s, first_poll_from_ts)
        newest = cursor.newest_ts if cursor else 0
        polls = (cursor.polls if cursor else 0) + 1
        recorded = seen = 0
        async for page in feed.pages(accounts, since):
            recorded += await self.record_all(user, page)
            seen += len(page)
            if page:
                newest = max(newest, max(listen.timestamp for listen in page))
            # the page is durably published: only now may the cursor pass it
            await self.cursors.save_listens(user, feed.name, ListenCursor(newest_ts=newest, polls=polls))
        return PollResult(recorded=recorded, seen=seen, cursor=newest)

    async def poll_reported(
        self, user: str, accounts: UserAccounts, feed: ListenFeed, first_poll_from_ts: int, interval_s: float
    ) -> PollResult | None:
        """`poll`, with an external failure turned into `PollFailed` and the source's health; None on failure."""
        self.health.expect(user, feed.name, interval_s)
        try:
            result = await self.poll(user, accounts, feed, first_poll_from_ts)
        except ExternalError as exc:
            log.warning("listens of %s from %s failed: %s", user, feed.name, exc)
            self.health.failure(user, feed.name, interval_s, str(exc))
            await self.publisher.publish(poll_failed(user, feed.name, exc))
            return None
        self.health.success(user, feed.name, interval_s, result.recorded)
        if result.recorded:
            log.info(
                "%s/%s: %d new listens (%d read), cursor %d",
                user,
                feed.name,
                result.recorded,
                result.seen,
                result.cursor,
            )
        return result
