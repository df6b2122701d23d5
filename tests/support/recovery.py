"""SIGKILL a service while it holds a message, and time until the work of that message is done.

"Holds": the server delivered the message to the process and is waiting for its ack. To catch every service at
that point, fast handlers included, the process is frozen (SIGSTOP) first; work is then sent its way and lands in
its outstanding pull request. The server now counts the message as that process's, exactly as for a handler at work.
The process is SIGKILLed; the time measured runs from the kill until the consumer's ack floor passes the held
message (the redelivered message was handled and acked by the restarted process). A freeze can miss: the process's
pull request may expire before the work arrives; then it is thawed, handles it, and the next piece of work is tried.

Shared by `tests/e2e/test_recovery.py` (the promise: within 15 s at default settings) and
`tests/bench/bench_recovery.py` (the figures).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo

from contracts.common import TrackQuery
from contracts.gateway import RequestTrack, StartRun

from .loopstack import ADMIN_USER, LoopStack, service_pids
from .wait import wait_until

__all__ = ["TARGETS", "Held", "RecoveryDriver", "Target"]


@dataclass(frozen=True)
class Target:
    service: str
    durable: str
    stream: str


TARGETS = {
    "ingest-svc": Target("ingest-svc", "ingest_runs", "GATEWAY"),
    "resolve-svc": Target("resolve-svc", "resolve_requests", "GATEWAY"),
    "acquire-svc": Target("acquire-svc", "acquire_resolved", "RESOLVE"),
    "library-svc": Target("library-svc", "library_tagged", "ACQUIRE"),
    "gateway": Target("gateway", "gateway_view_gateway", "GATEWAY"),
}


@dataclass(frozen=True)
class Held:
    target: Target
    pid: int
    sequence: int
    """Stream sequence of the message the frozen process holds."""


class RecoveryDriver:
    def __init__(self, stack: LoopStack, js: JetStreamContext) -> None:
        self.stack = stack
        self.js = js
        self._next_track = 0

    async def _publish(self, command: RequestTrack | StartRun) -> None:
        await self.js.publish(command.subject, command.to_json(), headers={"Nats-Msg-Id": str(command.event_id)})

    async def request_next_track(self) -> None:
        """A manual request by MBID of the next world track, as the gateway publishes it: work for every stage."""
        if self._next_track >= len(self.stack.world.tracks):
            raise AssertionError(f"all {self._next_track} tracks of the world used: too many missed freezes")
        track = self.stack.world.tracks[self._next_track]
        self._next_track += 1
        query = TrackQuery(recording_mbid=uuid.UUID(track.recording_mbid))
        await self._publish(RequestTrack(request_id=uuid.uuid4(), query=query, user=ADMIN_USER))

    async def start_run(self) -> None:
        await self._publish(StartRun(user=ADMIN_USER))

    def trigger_for(self, target: Target) -> Callable[[], Awaitable[None]]:
        return self.start_run if target.service == "ingest-svc" else self.request_next_track

    async def _info(self, target: Target) -> ConsumerInfo:
        return await self.js.consumer_info(target.stream, target.durable)

    async def _pid(self, service: str) -> int:
        pids: dict[str, int] = await wait_until(
            lambda: service_pids(self.stack), timeout=60, interval=0.1, predicate=lambda p: service in p
        )
        return pids[service]

    async def hold(self, target: Target, *, tries: int = 6) -> Held:
        """Freeze the target's process and have it hold a fresh message; thaw and try again on a miss."""
        for _ in range(tries):
            await wait_until(  # settled, so whatever is ack-pending after the trigger is the new work
                lambda: self._info(target), timeout=60, predicate=lambda i: i.num_ack_pending == 0
            )
            pid = await self._pid(target.service)
            os.kill(pid, signal.SIGSTOP)
            try:
                await self.trigger_for(target)()
                info = await wait_until(
                    lambda: self._info(target),
                    timeout=60,
                    predicate=lambda i: i.num_ack_pending > 0 or (i.num_pending > 0 and i.num_waiting == 0),
                )
            except BaseException:
                os.kill(pid, signal.SIGCONT)
                raise
            if info.num_ack_pending > 0:
                return Held(target, pid, info.delivered.stream_seq or 0)
            os.kill(pid, signal.SIGCONT)  # its pull request expired before the work came: let it handle that
        raise AssertionError(f"{target.service} never held a message in {tries} tries")

    async def kill_and_time(self, held: list[Held], *, timeout: float = 120) -> dict[str, float]:
        """SIGKILL every holder at once; seconds from the kill until each held message's work was acked."""
        for h in held:
            os.kill(h.pid, signal.SIGKILL)
        t0 = time.monotonic()

        async def done(h: Held) -> tuple[str, float]:
            await wait_until(
                lambda: self._info(h.target),
                timeout=timeout,
                interval=0.1,
                predicate=lambda i: (i.ack_floor.stream_seq or 0) >= h.sequence,
            )
            return h.target.service, time.monotonic() - t0

        return dict(await asyncio.gather(*(done(h) for h in held)))

    async def round(self) -> dict[str, float]:
        """Every service once: ingest, acquire and the gateway killed together, then library and resolve."""
        first = [await self.hold(TARGETS[s]) for s in ("gateway", "ingest-svc", "acquire-svc")]
        times = await self.kill_and_time(first)
        # library first: its work passes through resolve, which is frozen after it
        second = [await self.hold(TARGETS[s]) for s in ("library-svc", "resolve-svc")]
        return times | await self.kill_and_time(second)
