"""Composition root of ingest-svc: settings → clients and KV adapters → use cases → handlers and loops.
Nothing imports this module."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from nats.errors import Error as NatsError
from pydantic import ValidationError

from contracts.health import HealthStatus
from contracts.livesettings import UserAccounts
from infra.http import HttpSettings
from infra.livesettings import LiveSettings
from infra.logs import configure_logging
from infra.runtime import ServiceRuntime

from . import SERVICE, __version__, handlers
from .adapters.http import Clients
from .adapters.kv import KvCursorStore, KvForwardLedger, KvKnownRecordings, KvLease, KvListenGate
from .adapters.lastfm import LastfmFeed
from .adapters.listen_feeds import ListenBrainzFeed
from .adapters.listenbrainz import ListenBrainz
from .adapters.scrobble_targets import LastfmTarget, ListenBrainzTarget
from .adapters.sonos import SocoNetwork
from .adapters.spotify import SpotifyFeed
from .config import Config
from .health import SourceHealth
from .ports import ListenFeed
from .scheduler import Scheduler, supervise
from .service import ListenService, RecommendationService
from .service.forwarding import Forwarder
from .service.sonos import SonosPoller
from .settings import Settings
from .sonos_health import SonosHealth

__all__ = ["Ingest", "build", "main"]

log = logging.getLogger(__name__)


class Ingest:
    """The wired service. The KV adapters need the NATS connection, so they are opened once the runtime is up;
    handlers wait for that (`ready`) before their first message."""

    def __init__(self, settings: Settings, http: HttpSettings | None = None) -> None:
        self.settings = settings
        self.runtime = ServiceRuntime(SERVICE, __version__, settings)
        self.clients = Clients.build(settings, http)
        self.health = SourceHealth()
        self.live = LiveSettings(settings.secret_key_source())  # the accounts in the KV are sealed
        self.config = Config(settings, self.live)
        self._ready = asyncio.Event()
        self._listens: ListenService | None = None
        self._forwarder: Forwarder | None = None
        self.lease: KvLease | None = None
        self._scheduler: Scheduler | None = None
        self._wire_error: str | None = None
        self.runtime.add_check("sources", self._check)
        self.sonos_health = SonosHealth()
        self.runtime.add_check("sonos", self.sonos_health.check)
        self.runtime.add_check("settings", self._settings_in_force)

        fallback = settings.admin_user
        self.runtime.consume("ingest_scrobbles", handlers.on_scrobble(self.listen_service, fallback))
        self.runtime.consume("ingest_library_scrobbles", handlers.on_scrobble(self.listen_service, fallback))
        self.runtime.consume("ingest_runs", handlers.on_start_run(self.scheduler))

        def accounts(user: str) -> UserAccounts | None:
            return self.config.users().get(user)

        self.runtime.consume("ingest_forward", handlers.on_listen_forward(self.forwarder, accounts))
        self.runtime.consume("ingest_now_playing", handlers.on_now_playing(self.forwarder, accounts))

    def _settings_in_force(self) -> tuple[HealthStatus, dict[str, Any]]:
        """The run settings in force, live or from the environment (the Settings page shows them)."""
        run = self.config.run()
        values = {"run_interval_s": self.config.run_interval_s, "run_size": run.run_size, "cf_ratio": run.cf_ratio}
        return HealthStatus.OK, values

    def _check(self) -> tuple[HealthStatus, dict[str, Any]]:
        if not self._ready.is_set():
            detail = {"note": "connecting to the KV buckets and live settings", "error": self._wire_error}
            return (HealthStatus.UNHEALTHY if self._wire_error else HealthStatus.OK), detail
        return self.health.check()

    async def listen_service(self) -> ListenService:
        await self._ready.wait()
        assert self._listens is not None
        return self._listens

    async def forwarder(self) -> Forwarder:
        await self._ready.wait()
        assert self._forwarder is not None
        return self._forwarder

    async def scheduler(self) -> Scheduler:
        await self._ready.wait()
        assert self._scheduler is not None
        return self._scheduler

    async def wire(self) -> Scheduler:
        js = self.runtime.js
        await self.clients.bind(js)
        cursors = await KvCursorStore.open(js)
        gate = await KvListenGate.open(js)
        known = await KvKnownRecordings.open(js)
        lb = ListenBrainz(self.clients.listenbrainz)
        self._listens = ListenService(
            cursors, gate, self.runtime, self.health, lookback_s=self.settings.listen_lookback_s
        )
        recommendations = RecommendationService(lb, cursors, known, self.runtime, self.health)
        feeds: list[ListenFeed] = [
            ListenBrainzFeed(lb, self.settings.listen_page_size),
            LastfmFeed(self.clients.lastfm, self.settings.lastfm_api_key, self.settings.lastfm_error_retries),
            SpotifyFeed(self.clients.spotify_api, self.clients.spotify_accounts),
        ]
        self._forwarder = Forwarder(
            [
                ListenBrainzTarget(self.clients.listenbrainz_write, __version__),
                LastfmTarget(self.clients.lastfm_write, self.settings.lastfm_api_key, self.settings.lastfm_api_secret),
            ],
            await KvForwardLedger.open(js),
        )
        self.lease = await KvLease.open(js, self.runtime.instance, self.settings.scheduler_lease_s)
        sonos = SonosPoller(
            SocoNetwork(timeout_s=self.settings.sonos_timeout_s),
            self._listens,
            self.config.sonos,
            self.sonos_health,
            memory=cursors,
        )
        self._scheduler = Scheduler(
            self.config, recommendations, self._listens, feeds, self.health, self.lease, sonos=sonos
        )
        await self.live.start(js)
        self.live.on_change(self._scheduler.wake)
        self._scheduler.refresh_expected()
        self._ready.set()
        users = self.config.users()
        if users:
            log.info("ingest users: %s", ", ".join(sorted(users)))
        else:
            log.info("no user account configured (environment or live settings): nothing to poll yet")
        return self._scheduler

    async def _wire_until_ready(self) -> Scheduler:
        delay = 0.5
        while True:
            try:
                return await self.wire()
            except (NatsError, OSError, TimeoutError) as exc:  # buckets not provisioned yet, NATS away
                self._wire_error = f"{type(exc).__name__}: {exc}"
                log.exception("ingest-svc could not open its KV buckets; retrying in %.1fs", delay)
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)

    async def background(self) -> None:
        scheduler = await self._wire_until_ready()
        try:
            await asyncio.gather(
                supervise("lease", scheduler.lease_loop),
                supervise("recommendations", scheduler.recommendation_loop),
                supervise("listens", scheduler.listen_loop),
                supervise("sonos", scheduler.sonos_loop, on_crash=self.sonos_health.loop_restarted),
            )
        finally:
            if self.lease is not None:
                try:
                    await self.lease.release()
                except (NatsError, OSError) as exc:
                    log.warning("could not release the scheduler lease (%s); another process takes over later", exc)
            await self.live.stop()
            await self.clients.aclose()

    async def run(self) -> None:
        await self.runtime.run(self.background)


def build(settings: Settings) -> Ingest:
    return Ingest(settings)


def main() -> None:
    configure_logging(SERVICE)
    try:
        settings = Settings()
    except ValidationError as exc:
        for err in exc.errors():
            print(f"ingest-svc: configuration error: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(build(settings).run())
