"""The process shell every service runs in: NATS connection, durable consumers, publishing, health, shutdown.

A service's composition root builds one `ServiceRuntime`, binds its handlers with `consume`, adds its health checks
and calls `run()`. Importing this module does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from faststream.nats import NatsBroker
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from contracts.base import Message
from contracts.health import HealthReport, HealthStatus, health_subject
from contracts.topology import CONSUMERS, ConsumerSpec

from ..metrics import exposition, metrics_subject, set_process_service
from ..upstreams import UPSTREAMS
from .delivery import Handler, dispatch
from .puller import Puller
from .settings import RuntimeSettings
from .watch import ConsumerWatch, Heartbeat

__all__ = ["Check", "CheckResult", "ServiceRuntime"]

log = logging.getLogger(__name__)

CheckResult = tuple[HealthStatus, dict[str, Any]]
Check = Callable[[], CheckResult | Awaitable[CheckResult]]
STOP_GRACE_S = 8.0
"""On SIGTERM, how long handlers at work may go on to finish and ack (the runner's own grace is 10 s)."""
_RANK = {HealthStatus.OK: 0, HealthStatus.DEGRADED: 1, HealthStatus.UNHEALTHY: 2, HealthStatus.MISSING: 2}


class ServiceRuntime:
    def __init__(self, service: str, version: str, settings: RuntimeSettings | None = None) -> None:
        self.service = service
        self.version = version
        self.settings = settings or RuntimeSettings()
        self.instance = f"{service}-{uuid.uuid4().hex[:8]}"
        self.broker = NatsBroker(
            self.settings.nats_url.split(","),
            security=self.settings.nats_credentials.broker_security(),
            name=self.instance,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            logger=logging.getLogger(f"faststream.{service}"),
        )
        self._started = time.monotonic()
        self._checks: dict[str, Check] = {}
        self._consumers: list[str] = []
        self._stop = asyncio.Event()
        self._heartbeats: dict[str, Heartbeat] = {}
        self._lag_task: asyncio.Task[None] | None = None
        self._pullers: list[Puller] = []
        self.watch = ConsumerWatch(service, self.settings.idle_lag_s)
        set_process_service(service)
        self.broker.subscriber(health_subject(service))(self._health)
        self.broker.subscriber(metrics_subject(service))(self._metrics)
        self._checks["upstreams"] = self._upstreams

    # wiring -----------------------------------------------------------------------------------------------------

    def consume(self, durable: str, handler: Handler, *, spec: ConsumerSpec | None = None) -> None:
        """Bind a handler to one of this service's durable consumers (declared in contracts, provisioned by infra).

        `spec` overrides the declared consumer; tests use it for short back-offs.
        """
        spec = spec or _consumer_spec(durable)
        if spec.service != self.service:
            raise ValueError(f"consumer {durable} belongs to {spec.service}, not {self.service}")

        async def on_message(msg: Msg) -> None:
            self.watch.started(spec.durable)
            try:
                await dispatch(spec, msg, handler, self.publish_raw, self.publish)
            except (NatsError, OSError) as exc:  # the ack or dead letter did not reach NATS: ack_wait brings it back
                log.warning("%s: %s not settled, NATS went away: %s", spec.durable, msg.subject, exc)
            except Exception:  # dispatch settles handler errors; anything reaching here is a bug to see
                log.exception("%s: settling %s failed", spec.durable, msg.subject)
            finally:
                self.watch.finished(spec.durable)

        # with one worker, as many messages as a fetch batch are handled at once (as the batch always was)
        workers = self.settings.max_workers if self.settings.max_workers > 1 else self.settings.fetch_batch
        self._pullers.append(Puller(spec, on_message, workers=workers))
        self._consumers.append(durable)
        self.watch.track(spec.durable, spec.stream)
        self._checks.setdefault("consumers", self.watch.check)

    def add_check(self, name: str, check: Check) -> None:
        self._checks[name] = check

    def loop_heartbeat(self, name: str, stall_after_s: float) -> Heartbeat:
        """Register a supervised background loop; it calls `beat()` after every round.

        A loop that has not beaten for `stall_after_s` makes the service unhealthy, with the loop named in the
        reason (a poller stuck on a hung request, a scheduler that died silently).
        """
        beat = Heartbeat(self.service, name, stall_after_s)
        self._heartbeats[name] = beat
        self._checks[f"loop:{name}"] = beat.check
        return beat

    # I/O ----------------------------------------------------------------------------------------------------------

    @property
    def nc(self) -> NatsClient:
        return self.broker.connection

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream()

    async def publish(self, event: Message) -> PubAck:
        """Publish to JetStream with `Nats-Msg-Id` = `event_id`, so a re-publish after a crash is stored once."""
        ack = await self.js.publish(
            event.subject,
            event.to_json(),
            headers={"Nats-Msg-Id": str(event.event_id), "Content-Type": "application/json"},
        )
        return ack

    async def publish_raw(self, subject: str, payload: bytes, headers: dict[str, str]) -> PubAck:
        return await self.js.publish(subject, payload, headers=headers)

    # health -------------------------------------------------------------------------------------------------------

    async def health(self) -> HealthReport:
        checks: dict[str, Any] = {}
        worst = HealthStatus.OK
        connected = self.nc.is_connected
        checks["nats"] = {"status": "ok" if connected else "unhealthy", "connected": connected}
        if not connected:
            worst = HealthStatus.UNHEALTHY
        for name, check in self._checks.items():
            try:
                result = check()
                status, detail = await result if asyncio.iscoroutine(result) else result  # type: ignore[misc]
            except Exception as exc:  # noqa: BLE001 — a broken check is itself a finding, reported rather than raised
                status, detail = HealthStatus.UNHEALTHY, {"error": f"{type(exc).__name__}: {exc}"}
            checks[name] = {"status": status.value, **detail}
            if _RANK[status] > _RANK[worst]:
                worst = status
        return HealthReport(
            service=self.service,
            status=worst,
            uptime_s=round(time.monotonic() - self._started, 3),
            version=self.version,
            pid=os.getpid(),
            instance=self.instance,
            consumers=list(self._consumers),
            checks=checks,
        )

    def _upstreams(self) -> CheckResult:
        """Each external service this process used: last success, last failure and reason; degraded names them."""
        entries = UPSTREAMS.report(self.settings.upstream_degraded_after_s, self.settings.upstream_waiting_window_s)
        degraded = [key for key, e in entries.items() if e["degraded"]]
        status = HealthStatus.DEGRADED if degraded else HealthStatus.OK
        return status, {"entries": entries, "degraded": degraded}

    async def _health(self, body: bytes) -> bytes:
        return (await self.health()).model_dump_json().encode()

    async def _metrics(self, body: bytes) -> bytes:
        return exposition(self.service, self.instance).encode()

    # consumer lag -------------------------------------------------------------------------------------------------

    async def refresh_lag(self) -> None:
        """Ask the server for the pending counts of this process's durables (done periodically by `start`)."""
        for durable, stream in self.watch.durables.items():
            try:
                info = await self.js.consumer_info(stream, durable)
            except NotFoundError as exc:
                self.watch.failed(durable, str(exc) or "not found", missing=True)
            except (NatsError, OSError, TimeoutError) as exc:
                self.watch.failed(durable, f"{type(exc).__name__}: {exc}")
            else:
                self.watch.observe(durable, info.num_pending or 0, info.num_ack_pending or 0)

    async def _watch_lag(self, beat: Heartbeat) -> None:
        while True:
            await self.refresh_lag()
            beat.beat()
            await asyncio.sleep(self.settings.lag_refresh_s)

    # lifecycle ----------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.broker.start()
        for puller in self._pullers:
            await puller.start(self.js)
        if self.watch.durables and self._lag_task is None:
            beat = self.loop_heartbeat("consumer_lag", stall_after_s=max(30.0, 4 * self.settings.lag_refresh_s))
            self._lag_task = asyncio.create_task(self._watch_lag(beat), name=f"{self.instance}:lag")
        log.info("%s started: consumers %s, NATS %s", self.instance, ", ".join(self._consumers) or "none", self.nc)

    async def stop(self) -> None:
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
            self._lag_task = None
        for puller in self._pullers:
            await puller.stop(STOP_GRACE_S)
        try:
            await self.broker.stop()  # drains: in-flight handlers finish and ack before the connection closes
        except (NatsError, OSError) as exc:
            log.warning("%s: NATS went away during shutdown (%s); closing without draining", self.instance, exc)
            if not self.nc.is_closed:
                await self.nc.close()

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self, *background: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Start, run the given background coroutines, and stop cleanly on SIGTERM/SIGINT."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        await self.start()
        tasks = [asyncio.create_task(job(), name=getattr(job, "__name__", "job")) for job in background]
        try:
            await self._stop.wait()
        finally:
            log.info("%s stopping", self.instance)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.stop()


def _consumer_spec(durable: str) -> ConsumerSpec:
    for spec in CONSUMERS:
        if spec.durable == durable:
            return spec
    raise KeyError(f"no consumer named {durable} in contracts.topology.CONSUMERS")
