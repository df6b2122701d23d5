"""A single-writer lease in JetStream KV: one holder at a time, a hot standby takes over when it is not renewed.

The holder renews with a compare-and-set on the entry's revision three times per TTL. Another process takes the
lease only once the holder's `until` has passed, so a crashed writer is replaced within one TTL, and two writers
never hold it at once (the CAS fails for the loser). With R3 streams the lease survives the loss of a NATS node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

__all__ = ["LEASE_BUCKET", "KvLease", "LeaseLost"]

log = logging.getLogger(__name__)

LEASE_BUCKET = "leases"


class LeaseLost(RuntimeError):
    """The lease could not be renewed in time: another process may be the writer now."""


class KvLease:
    def __init__(
        self, kv: KeyValue, key: str, holder: str, ttl_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.kv = kv
        self.key = key
        self.me = holder
        self.ttl_s = ttl_s
        self.clock = clock
        self.holder: str | None = None
        """The holder seen at the last `hold()`."""
        self.until = 0.0
        """Until when this process holds it (its own clock), after the last successful `hold()`."""

    @classmethod
    async def open(cls, js: JetStreamContext, key: str, holder: str, ttl_s: float) -> KvLease:
        return cls(await js.key_value(LEASE_BUCKET), key, holder, ttl_s)

    async def hold(self) -> bool:
        """Take or renew the lease; False while another process holds a live one."""
        now = self.clock()
        value = json.dumps({"holder": self.me, "until": now + self.ttl_s}).encode()
        try:
            entry = await self.kv.get(self.key)
        except KeyNotFoundError:
            try:
                await self.kv.create(self.key, value)
            except KeyWrongLastSequenceError:
                return False  # another process took it just now
            return self._held(now)
        doc = json.loads(entry.value or b"{}")
        if doc.get("holder") != self.me and float(doc.get("until", 0)) > now:
            self.holder = str(doc.get("holder"))
            return False
        try:
            await self.kv.update(self.key, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        return self._held(now)

    def _held(self, now: float) -> bool:
        self.holder = self.me
        self.until = now + self.ttl_s
        return True

    async def acquire(self, poll_s: float | None = None) -> None:
        """Wait as the hot standby until this process holds the lease."""
        interval = poll_s if poll_s is not None else max(0.2, self.ttl_s / 10)
        announced = False
        while True:
            try:
                if await self.hold():
                    return
            except (NatsError, TimeoutError, OSError) as exc:
                log.warning("lease %s: NATS did not answer (%s); trying again", self.key, exc)
            if not announced:
                log.info("lease %s held by %s: standing by", self.key, self.holder)
                announced = True
            await asyncio.sleep(interval)

    async def keep(self) -> None:
        """Renew three times per TTL for as long as this runs; raise LeaseLost once it cannot be renewed in time."""
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                if await self.hold():
                    continue
                raise LeaseLost(f"lease {self.key} taken by {self.holder}")
            except (NatsError, TimeoutError, OSError) as exc:
                # a NATS node lost: the cluster elects a new KV leader within seconds, so keep trying until our
                # own time runs out
                if self.clock() >= self.until:
                    raise LeaseLost(f"lease {self.key} not renewed before it ran out: {exc}") from exc
                log.warning("lease %s: renewal failed (%s); retrying", self.key, exc)

    async def release(self) -> None:
        """On a clean stop: let the standby take over at once instead of after the TTL."""
        with contextlib.suppress(KeyNotFoundError, KeyWrongLastSequenceError):
            entry = await self.kv.get(self.key)
            if json.loads(entry.value or b"{}").get("holder") == self.me:
                await self.kv.delete(self.key, last=entry.revision)
