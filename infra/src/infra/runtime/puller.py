"""The pull loop of one durable consumer in one process: fetch only what a free worker can start at once.

A message a process has fetched is held by it: the server redelivers it only after `ack_wait`. So every message held
must be in a handler, where `dispatch` keeps it alive with in-progress signals; one that waited unseen in a local
queue (as FastStream's concurrent subscriber lets a whole batch wait for workers) would come back after `ack_wait`
while still queued, and be handled twice. That is what lets `ack_wait` be short, so that the messages a killed
process held come back within seconds.

Each fetch asks for one message with a long poll and returns as soon as it arrives (a batch fetch of the NATS client
waits out its timeout for the rest of the batch once the first message came).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.topology import ConsumerSpec

__all__ = ["FETCH_WAIT_S", "Puller"]

log = logging.getLogger(__name__)

FETCH_WAIT_S = 5.0
"""How long one pull request waits on the server for a message; after a NATS restart, the next one is re-sent."""


class Puller:
    def __init__(
        self,
        spec: ConsumerSpec,
        handle: Callable[[Msg], Coroutine[Any, Any, None]],
        *,
        workers: int,
    ) -> None:
        self.spec = spec
        self._handle = handle
        self.workers = workers
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def start(self, js: JetStreamContext) -> None:
        # bind, never create: a consumer that was not provisioned from the contracts is an error, not a default
        try:
            await js.consumer_info(self.spec.stream, self.spec.durable)
        except NotFoundError as exc:
            raise RuntimeError(
                f"durable consumer {self.spec.stream}/{self.spec.durable} does not exist: provision first "
                "(`brainstream up` does)"
            ) from exc
        sub = await js.pull_subscribe_bind(durable=self.spec.durable, stream=self.spec.stream)
        self._task = asyncio.create_task(self._loop(sub), name=f"pull:{self.spec.durable}")

    async def _loop(self, sub: JetStreamContext.PullSubscription) -> None:
        try:
            while True:
                while len(self._inflight) >= self.workers:
                    await asyncio.wait(self._inflight, return_when=asyncio.FIRST_COMPLETED)
                try:
                    msgs = await sub.fetch(1, timeout=FETCH_WAIT_S)
                except TimeoutError:
                    continue  # nothing to do: poll again
                except ConnectionClosedError:
                    return
                except (NatsError, OSError) as exc:  # reconnecting, or the consumer went away: try again shortly
                    log.warning("fetch on %s failed: %s", self.spec.durable, exc or type(exc).__name__)
                    await asyncio.sleep(1.0)
                    continue
                except Exception:  # a consumer that silently stopped pulling would be worse: say so, go on
                    log.exception("fetch on %s failed unexpectedly; pulling again in 1 s", self.spec.durable)
                    await asyncio.sleep(1.0)
                    continue
                for msg in msgs:
                    task = asyncio.create_task(self._handle(msg), name=f"{self.spec.durable}:{msg.subject}")
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
        finally:
            with contextlib.suppress(NatsError, OSError):
                await sub.unsubscribe()

    async def stop(self, grace_s: float) -> None:
        """Stop fetching, then let the handlers at work finish (and ack) for up to `grace_s` seconds."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=grace_s)
            for task in pending:  # their messages come back to another process after ack_wait
                task.cancel()
            if pending:
                log.warning("%s: %d handlers still at work after %.0fs", self.spec.durable, len(pending), grace_s)
                await asyncio.wait(pending, timeout=1.0)
