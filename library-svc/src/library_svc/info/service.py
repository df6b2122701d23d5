"""Cached external answers, fetched in the background: a client never waits on the internet.

`cached(key)` answers from the database at once. A key that is missing or older than `ttl` is queued for one
background worker, which fetches it within the source's rate limit and stores it; the client's next call gets
it ("empty, then filled"). The queue is bounded and deduplicated, a key that failed is not retried before
`retry_after`, and `budget_per_hour` caps what the info endpoints may spend of the shared MusicBrainz and
ListenBrainz budgets, whatever clients ask.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.http import ExternalError, NotFound
from infra.ratelimit import KvSlotLimiter

from ..adapters.extrastore import ExtraStore
from .matching import LibraryMatch

__all__ = ["Info", "InfoService"]

log = logging.getLogger(__name__)


class InfoService:
    def __init__(
        self,
        store: ExtraStore,
        fetchers: Mapping[str, Callable[[str], Awaitable[Any]]],
        *,
        ttl: timedelta = timedelta(days=30),
        retry_after_s: float = 3600.0,
        budget_per_hour: int = 600,
        queue_size: int = 1000,
    ) -> None:
        self.store = store
        self.fetchers = fetchers
        """Kind ("mb_artist", "lb_top", …) → coroutine taking the key's argument."""
        self.ttl = ttl
        self.retry_after_s = retry_after_s
        self.budget_per_hour = budget_per_hour
        self._queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self._pending: set[str] = set()
        self._failed: dict[str, float] = {}
        self._spent: deque[float] = deque()
        self._worker: asyncio.Task[None] | None = None
        self.fetched = 0

    async def cached(self, kind: str, arg: str) -> Any | None:
        """The stored answer (possibly stale), or None; a missing or stale one is queued for fetching."""
        key = f"{kind}:{arg}"
        found = await asyncio.to_thread(self.store.info, key)
        if found is None or datetime.now(UTC) - _aware(found[0]) > self.ttl:
            self._enqueue(key)
        return found[1] if found is not None else None

    def _enqueue(self, key: str) -> None:
        if key in self._pending:
            return
        failed_at = self._failed.get(key)
        if failed_at is not None and time.monotonic() - failed_at < self.retry_after_s:
            return
        try:
            self._queue.put_nowait(key)
        except asyncio.QueueFull:
            log.info("info queue full: %s not fetched now", key)
            return
        self._pending.add(key)
        if self._worker is None or self._worker.done():
            # started on first need, on the serving loop; one that died is replaced here
            self._worker = asyncio.get_running_loop().create_task(self.run(), name="info fetcher")

    async def _spend(self) -> None:
        """Wait until the hourly budget allows one more request."""
        while True:
            now = time.monotonic()
            while self._spent and now - self._spent[0] > 3600:
                self._spent.popleft()
            if len(self._spent) < self.budget_per_hour:
                self._spent.append(now)
                return
            await asyncio.sleep(3600 - (now - self._spent[0]) + 0.01)

    async def run(self) -> None:
        """The background worker: one fetch at a time (the sources allow about one request a second)."""
        while True:
            key = await self._queue.get()
            try:
                await self.fetch_now(key)
            except Exception:
                # a bug or a broken answer must not stop the worker for every other key
                log.exception("info %s failed", key)
                self._failed[key] = time.monotonic()
            finally:
                self._pending.discard(key)

    async def fetch_now(self, key: str) -> None:
        kind, _, arg = key.partition(":")
        fetch = self.fetchers.get(kind)
        if fetch is None:
            log.error("no fetcher for %s", key)
            return
        await self._spend()
        try:
            body = await fetch(arg)
        except NotFound:
            body = None  # an answer: remembered, so it is not asked again before the ttl
        except ExternalError as exc:
            self._failed[key] = time.monotonic()
            log.warning("info %s not fetched: %s", key, exc)
            return
        await asyncio.to_thread(self.store.save_info, key, body, datetime.now(UTC))
        self._failed.pop(key, None)
        self.fetched += 1


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class Info:
    service: InfoService
    match: LibraryMatch
    limiters: list[KvSlotLimiter] = field(default_factory=list)
    """The shared rate slots of the sources, bound to NATS once the runtime has connected."""
