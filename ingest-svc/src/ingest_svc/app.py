"""Composition root of ingest-svc: settings → clients and KV adapters → use cases → handlers and loops.
Nothing imports this module."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, TypeVar

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts.health import HealthStatus
from contracts.livesettings import UserAccounts
from infra.http import HttpSettings
from infra.livesettings import LiveSettings
from infra.logs import configure_logging
from infra.runtime import ServiceRuntime

from . import SERVICE, __version__, handlers
from .adapters.http import Clients
from .adapters.kv import (
    KvCursorStore,
    KvDiscoveryGate,
    KvForwardLedger,
    KvKnownRecordings,
    KvLease,
    KvListenGate,
)
from .adapters.lastfm import LastfmFeed
from .adapters.listen_feeds import ListenBrainzFeed
from .adapters.listenbrainz import ListenBrainz, ListenBrainzFeedback
from .adapters.scrobble_targets import LastfmTarget, ListenBrainzTarget
from .adapters.sonos import SocoNetwork
from .adapters.spotify import SpotifyFeed
from .config import Config
from .health import SourceHealth
from .ports import ListenFeed
from .scheduler import Scheduler, supervise
from .service import ListenService, RecommendationService
from .service.feedback import FeedbackReader, FeedbackSender
from .service.forwarding import Forwarder
from .service.sonos import SonosPoller
from .settings import Settings
from .sonos_health import SonosHealth

__all__ = ["Ingest", "build", "main"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Ingest:
    """The wired service. The KV adapters need the NATS connection: they are opened by the runtime's on-connect hook,
    which runs (and is retried while a bucket is missing) before any consumer pulls a message."""

    def __init__(self, settings: Settings, http: HttpSettings | None = None) -> None:
        self.settings = settings
        self.runtime = ServiceRuntime(SERVICE, __version__, settings)
        self.clients = Clients.build(settings, http)
        self.health = SourceHealth()
        self.live = LiveSettings(settings.secret_key_source())  # the accounts in the KV are sealed
        self.config = Config(settings, self.live)
        self._listens: ListenService | None = None
        self._forwarder: Forwarder | None = None
        self._feedback: FeedbackSender | None = None
        self.lease: KvLease | None = None
        self._scheduler: Scheduler | None = None
        self.runtime.on_connect(self._connect)
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
        self.runtime.consume("ingest_feedback", handlers.on_discovery_decision(self.feedback_sender, accounts))

    def _settings_in_force(self) -> tuple[HealthStatus, dict[str, Any]]:
        """The run settings in force, live or from the environment (the Settings page shows them)."""
        run = self.config.run()
        values = {
            "run_interval_s": self.config.run_interval_s,
            "run_size": run.run_size,
            "cf_ratio": run.cf_ratio,
            "playlists_ratio": run.playlists_ratio,
        }
        return HealthStatus.OK, values

    def _check(self) -> tuple[HealthStatus, dict[str, Any]]:
        if self._scheduler is None:  # the runtime's `wiring` check says why, if it is failing
            return HealthStatus.OK, {"note": "connecting to the KV buckets and live settings"}
        return self.health.check()

    async def listen_service(self) -> ListenService:
        return _wired(self._listens)

    async def forwarder(self) -> Forwarder:
        return _wired(self._forwarder)

    async def feedback_sender(self) -> FeedbackSender:
        return _wired(self._feedback)

    async def scheduler(self) -> Scheduler:
        return _wired(self._scheduler)

    async def _connect(self, js: JetStreamContext) -> None:
        if self._scheduler is None:
            await self.wire(js)

    async def wire(self, js: JetStreamContext) -> Scheduler:
        await self.clients.bind(js)
        cursors = await KvCursorStore.open(js)
        gate = await KvListenGate.open(js)
        known = await KvKnownRecordings.open(js)
        lb = ListenBrainz(self.clients.listenbrainz)
        self._listens = ListenService(
            cursors, gate, self.runtime, self.health, lookback_s=self.settings.listen_lookback_s
        )
        feedback_ledger = await KvForwardLedger.open(js, "feedback_ledger")
        self._feedback = FeedbackSender(
            ListenBrainzFeedback(self.clients.listenbrainz_write, self.clients.listenbrainz),
            feedback_ledger,
            self.runtime,
        )
        recommendations = RecommendationService(
            lb,
            cursors,
            known,
            self.runtime,
            self.health,
            gate=await KvDiscoveryGate.open(js),
            feedback=FeedbackReader(lb, cursors, feedback_ledger, self.runtime),
        )
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
        users = self.config.users()
        if users:
            log.info("ingest users: %s", ", ".join(sorted(users)))
        else:
            log.info("no user account configured (environment or live settings): nothing to poll yet")
        return self._scheduler

    async def background(self) -> None:
        scheduler = _wired(self._scheduler)  # the runtime has started, so it has wired
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


def _wired(part: T | None) -> T:
    if part is None:  # the runtime starts consumers and background jobs only after wiring: a bug if seen
        raise RuntimeError("ingest-svc used before wiring")
    return part


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
