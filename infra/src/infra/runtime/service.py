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

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
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

__all__ = ["Check", "CheckResult", "ConnectHook", "ServiceRuntime"]

log = logging.getLogger(__name__)

CheckResult = tuple[HealthStatus, dict[str, Any]]
Check = Callable[[], CheckResult | Awaitable[CheckResult]]
Responder = Callable[[bytes], Awaitable[bytes]]
"""A core request/reply handler: the request's body in, the reply's body out."""
ConnectHook = Callable[[JetStreamContext], Awaitable[None]]
"""Wiring that needs the connection (KV buckets, live settings, slot limiters), run by `ServiceRuntime.start`."""
STOP_GRACE_S = 8.0
"""On SIGTERM, how long handlers at work may go on to finish and ack (the runner's own grace is 10 s)."""
_RANK = {HealthStatus.OK: 0, HealthStatus.DEGRADED: 1, HealthStatus.UNHEALTHY: 2, HealthStatus.MISSING: 2}


class ServiceRuntime:
    def __init__(self, service: str, version: str, settings: RuntimeSettings | None = None) -> None:
        self.service = service
        self.version = version
        self.settings = settings or RuntimeSettings()
        self.instance = f"{service}-{uuid.uuid4().hex[:8]}"
        self._nc = NatsClient()
        self._responders: list[tuple[str, str, Responder]] = []
        self._subscriptions: list[Subscription] = []
        self._ever_connected = False
        self._started = time.monotonic()
        self._checks: dict[str, Check] = {}
        self._consumers: list[str] = []
        self._stop = asyncio.Event()
        self._heartbeats: dict[str, Heartbeat] = {}
        self._lag_task: asyncio.Task[None] | None = None
        self._pullers: list[Puller] = []
        self._on_connect: list[ConnectHook] = []
        self._wiring_error: str | None = None
        self._wired = False
        self.watch = ConsumerWatch(service, self.settings.idle_lag_s)
        set_process_service(service)
        self.reply(health_subject(service), self._health)
        self.reply(metrics_subject(service), self._metrics)
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
        self._consumers.append(spec.durable)
        self.watch.track(spec.durable, spec.stream)
        self._checks.setdefault("consumers", self.watch.check)

    def reply(self, subject: str, responder: Responder, *, queue: str = "") -> None:
        """Answer core NATS requests on `subject` (outside every stream), from `start` on; with a `queue`, one
        process of the group answers each request."""
        self._responders.append((subject, queue, responder))

    def on_connect(self, hook: ConnectHook) -> None:
        """Run `hook(js)` in `start`, once JetStream is available and before any consumer pulls a message.

        The one place a service wires what needs the connection, so a handler never sees a half-wired service and
        never has to wait for one. Hooks run in the order given. One failing on NATS (a bucket not provisioned
        yet, the server away) is retried with back-off, from the first hook again, and the `wiring` health check
        names the error meanwhile; health requests are answered throughout.
        """
        self._on_connect.append(hook)

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
        return self._nc

    @property
    def wiring_error(self) -> str | None:
        """Why the wiring after connect last failed, while it is being retried; None once wired."""
        return self._wiring_error

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

    def _wiring(self) -> CheckResult:
        if self._wired:
            return HealthStatus.OK, {"wired": True}
        status = HealthStatus.UNHEALTHY if self._wiring_error else HealthStatus.OK
        return status, {"wired": False, "error": self._wiring_error}

    async def _run_connect_hooks(self) -> None:
        delay = 0.5
        while True:
            try:
                for hook in self._on_connect:
                    await hook(self.js)
            except (NatsError, OSError, TimeoutError) as exc:
                self._wiring_error = f"{type(exc).__name__}: {exc}"
                log.warning("%s: wiring after connect failed (%s); retrying in %.1fs", self.instance, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    raise
                delay = min(30.0, delay * 2)
            else:
                self._wired, self._wiring_error = True, None
                return

    async def _connect(self) -> None:
        await self._nc.connect(
            servers=self.settings.nats_url.split(","),
            name=self.instance,
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            **self.settings.nats_credentials.connect_options(),
        )
        self._ever_connected = True
        for subject, queue, responder in self._responders:
            self._subscriptions.append(await self._nc.subscribe(subject, queue=queue, cb=self._responding(responder)))

    def _responding(self, responder: Responder) -> Callable[[Msg], Awaitable[None]]:
        async def on_request(msg: Msg) -> None:
            try:
                body = await responder(msg.data)
            except Exception:  # a failing responder is a bug to see; the asker times out, the process goes on
                log.exception("%s: answering %s failed", self.instance, msg.subject)
                return
            if msg.reply:
                try:
                    await msg.respond(body)
                except (NatsError, OSError) as exc:
                    log.warning("%s: reply on %s not sent: %s", self.instance, msg.subject, exc)

        return on_request

    async def start(self) -> None:
        if not self._nc.is_connected:
            await self._connect()
        if self._on_connect and not self._wired:
            self._checks.setdefault("wiring", self._wiring)
            await self._run_connect_hooks()
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
        if not self._ever_connected or self.nc.is_closed:
            return  # nothing to drain or close (nats-py refuses to close a client that never connected)
        if not (self.nc.is_connected or self.nc.is_reconnecting):
            await self.nc.close()
            return
        try:
            await self.nc.drain()  # in-flight replies finish, then the connection closes
        except (NatsError, OSError, TimeoutError) as exc:
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
