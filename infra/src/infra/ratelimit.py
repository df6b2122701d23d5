"""Rate limits held across every service and replica: one slot key per external host in the `rate_limits` KV bucket.

ListenBrainz asks for 1 request/s from one client, and both ingest-svc and resolve-svc call it: each service's own
limiter would let 2/s through. So every service's client for a host takes its slot from the same key here
(`HOSTS` names the keys), and the budget holds across services and replicas alike.

The key's value is the wall-clock time of the next free request slot. A requester reads it, reserves
`max(now, next)` by writing `slot + interval` with compare-and-set on the revision it read, and sleeps until its slot.
A lost race (another replica wrote first) just reads again. Because slots are reserved ahead, replicas queue in order
rather than all waking at once, and the host never sees two requests closer than the interval. A server's
`Retry-After` or `X-RateLimit-Reset-In` pushes the slot forward for every replica.

Work that can come back later (a deferred message) calls `hold` instead of waiting: the slot is reserved under a
`<key>.held.<token>` entry, and whichever replica gets the work back takes it there.

A limiter built before NATS is connected (`KvSlotLimiter.unbound`) is bound to the bucket with `bind(js)`.

Clocks: slots are wall-clock times, so replicas on different machines must keep their clocks in sync (NTP); the
small `margin_s` added to each interval absorbs network jitter and small skew.
"""

from __future__ import annotations

import asyncio
import logging
import time

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

__all__ = ["BUCKET", "HOSTS", "KvSlotLimiter"]

BUCKET = "rate_limits"
HOSTS = {"listenbrainz": "listenbrainz", "musicbrainz": "musicbrainz", "lastfm": "lastfm"}
"""The slot key of each shared upstream host: every service that calls it uses this key, never one of its own."""

log = logging.getLogger(__name__)


class KvSlotLimiter:
    """A `infra.http.RateLimiter` shared by every process that uses the same bucket and key."""

    def __init__(self, kv: KeyValue | None, key: str, interval_s: float, *, margin_s: float = 0.0) -> None:
        self._kv = kv
        self.key = key
        self.interval_s = interval_s + margin_s
        self.conflicts = 0
        """Compare-and-set races lost to other requesters (for health and benchmarks)."""
        self._pending: set[asyncio.Task[None]] = set()
        # one compare-and-set at a time from this process: concurrent handlers would only race each other
        self._local = asyncio.Lock()

    @classmethod
    def unbound(cls, key: str, interval_s: float, *, margin_s: float = 0.0) -> KvSlotLimiter:
        """A limiter for a client built before NATS is connected; `bind` it before the first request."""
        return cls(None, key, interval_s, margin_s=margin_s)

    async def bind(self, js: JetStreamContext) -> KvSlotLimiter:
        self._kv = await js.key_value(BUCKET)
        return self

    @property
    def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError(f"rate limiter {self.key!r} used before it was bound to the {BUCKET} bucket")
        return self._kv

    async def _read(self) -> tuple[float, int]:
        try:
            entry = await self.kv.get(self.key)
        except KeyNotFoundError:  # also a deleted key; update(last=0) creates it
            return 0.0, 0
        try:
            return float((entry.value or b"0").decode()), entry.revision or 0
        except ValueError:
            log.warning("rate_limits %s held %r; starting over", self.key, entry.value)
            return 0.0, entry.revision or 0

    async def _write(self, value: float, revision: int) -> bool:
        try:
            await self.kv.update(self.key, repr(value).encode(), last=revision)
        except KeyWrongLastSequenceError:
            self.conflicts += 1
            return False
        return True

    async def reserve(self, max_wait_s: float | None = None) -> float | None:
        """Reserve the next slot; return the seconds until it, or None when that is beyond `max_wait_s`."""
        if self._pending:  # a server's pause asked for just now must be in the slot before anyone reserves
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        async with self._local:
            return await self._reserve(max_wait_s)

    async def _reserve(self, max_wait_s: float | None) -> float | None:
        while True:
            current, revision = await self._read()
            now = time.time()
            slot = max(now, current)
            if max_wait_s is not None and slot - now > max_wait_s:
                return None
            if await self._write(slot + self.interval_s, revision):
                return slot - now

    async def delay(self) -> float:
        """Seconds until the next free slot (how long the queue for this host is now)."""
        current, _ = await self._read()
        return max(0.0, current - time.time())

    async def _go(self, wait: float) -> float:
        """Sleep until the reserved slot, then make sure the previous request really went out an interval ago.

        A slot is reserved ahead, but its holder may wake late (a busy event loop, a loaded machine): the request
        after it would then follow too closely. So each sender stamps the time it actually sends, and the next one
        waits for that stamp plus the interval if it has to.
        """
        if wait > 0:
            await asyncio.sleep(wait)
        stamp_key = f"{self.key}.sent"
        try:
            entry = await self.kv.get(stamp_key)
            last = float((entry.value or b"0").decode())
        except (KeyNotFoundError, ValueError):
            last = 0.0
        extra = last + self.interval_s - time.time()
        if extra > 0:
            await asyncio.sleep(extra)
            wait += extra
        await self.kv.put(stamp_key, repr(time.time()).encode())
        return wait

    async def acquire(self) -> float:
        wait = await self.reserve()
        assert wait is not None
        return await self._go(wait)

    async def try_acquire(self, max_wait_s: float = 0.0) -> bool:
        """Take a slot only if one is free within `max_wait_s` (budgets that must not stall the queue)."""
        wait = await self.reserve(max_wait_s)
        if wait is None:
            return False
        await self._go(wait)
        return True

    async def hold(self, token: str, *, wait_here_s: float, max_queue_s: float) -> float | None:
        """A slot for one piece of work that can come back later instead of waiting (a deferred message).

        Returns 0.0 once the slot is taken (send now); the seconds until a slot reserved for `token` when that is
        further than `wait_here_s` (come back then: the slot is kept in the bucket for whichever replica gets the
        work); None when the queue is longer than `max_queue_s` (nothing reserved: try again later).
        """
        hold_key = f"{self.key}.held.{token}"
        try:
            entry = await self.kv.get(hold_key)
            held: float | None = float((entry.value or b"0").decode())
        except (KeyNotFoundError, ValueError):
            held = None
        if held is not None:
            wait = held - time.time()
            if wait > wait_here_s:
                return wait  # back before its slot
            await self.kv.delete(hold_key)
            await self._go(max(0.0, wait))  # a late return still keeps an interval after the last request sent
            return 0.0
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        async with self._local:
            reserved = await self._reserve(max_queue_s)
        if reserved is None:
            return None
        if reserved <= wait_here_s:
            await self._go(reserved)
            return 0.0
        await self.kv.put(hold_key, repr(time.time() + reserved).encode())
        return reserved

    async def pause(self, delay_s: float) -> None:
        """No slot for anyone before now + delay_s."""
        until = time.time() + delay_s
        while True:
            current, revision = await self._read()
            if current >= until or await self._write(until, revision):
                return

    def penalize(self, delay_s: float) -> None:
        task = asyncio.get_running_loop().create_task(self.pause(delay_s))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
