"""Composition root of the gateway: settings → runtime, stores, proxy → Litestar app. Nothing imports this module."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import uvicorn
from litestar import Litestar, asgi
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from nats.js import JetStreamContext
from sqlalchemy.exc import IntegrityError
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from infra.http import ApiClient, HttpSettings
from infra.internal import library_api_secret
from infra.livesettings import LiveSettings
from infra.logs import configure_logging
from infra.ops.deadletters import redrive
from infra.ratelimit import HOSTS, KvSlotLimiter
from infra.runtime import ServiceRuntime
from infra.secretfiles import private_dir

from . import SERVICE, __version__
from .adapters.kv import RequestGate, SettingsStore
from .adapters.library import SubsonicLibrary
from .api.candidates import CandidatesController
from .api.errors import EXCEPTION_HANDLERS
from .api.events import EventsController
from .api.headers import security_headers
from .api.jsonguard import json_guard
from .api.library import LibraryController
from .api.library_media import LibraryMediaController
from .api.library_out import LibraryOut
from .api.metrics import MetricsController
from .api.runs import RunsController
from .api.session import MeController, SessionController
from .api.settings import SettingsController
from .api.sonos import SonosController
from .api.tracks import RequestsController, TracksController
from .api.users import UsersController
from .auth.crypto import SecretBox, load_or_create_key
from .auth.limiter import GuessLimiter, PasswordSlots
from .auth.users import UserError, Users
from .browse import LibraryBrowser
from .db import adopt_local_accounts, make_accounts_engine, make_engine
from .discoveries.api import DiscoveriesController
from .discoveries.marks import NavidromeMarks
from .discoveries.navidrome import NavidromeMirror
from .discoveries.page import DiscoveriesPageController
from .discoveries.service import Discoveries
from .handlers import view_handlers
from .health import HealthController
from .history.api import ListensController
from .history.fold import HistoryFold
from .history.live import HISTORY_DURABLES, Rematcher, history_handlers
from .history.merge import MergeConfig
from .history.nowplaying import PlayingNow
from .history.page import HistoryPageController
from .history.replayable import history_path
from .history.schema import connect as connect_history
from .history.scrobbling import ScrobblingController
from .insights.api import InsightsController, Prefs, TimezoneController, server_zone
from .insights.hitrate import ensure_index as ensure_timeline_index
from .insights.page import InsightsPageController
from .insights.rollup_store import tune_reader
from .insights.summary import LlmConfig, Summarizer, SummaryStore
from .readmodel.feed import Broadcaster
from .readmodel.projection import Projection
from .readmodel.queries import View
from .replicas import OnceAcrossReplicas, ReplicaConsumers, read_model_dir
from .service import Gateway
from .settings import Settings
from .subsonic.auth import AuthPolicy
from .subsonic.health import upstream_check
from .subsonic.keepalive import KeepAlivePool
from .subsonic.proxy import FORWARD_RESPONSE, SubsonicProxy
from .subsonic.scrobble import ScrobblePublisher
from .subsonic.upstream import LiveNavidromeAccount, UpstreamChooser, UserNavidromeAccounts
from .ui.pages import UI_CONTROLLERS

__all__ = ["create_app", "main"]

_UI = Path(__file__).parent / "ui"


def create_app(settings: Settings) -> Litestar:
    runtime = ServiceRuntime(SERVICE, __version__, settings)
    home = private_dir(settings.data_dir / "gateway")  # gateway.db and secret.key: the owner's only
    # what people own is shared by every replica; the read model is this process's own (one file when alone)
    accounts = make_accounts_engine(settings.db_url, home / "gateway.db")
    if settings.db_url is not None:
        adopt_local_accounts(accounts, home / "gateway.db")
    own = read_model_dir(settings)
    engine = accounts if own == home and settings.db_url is None else make_engine(private_dir(own) / "gateway.db")
    key = load_or_create_key(settings.secret_key, home / "secret.key")
    users = Users(accounts, SecretBox(key), settings.session_days, cache_s=5.0 if settings.replica_id else None)
    projection, view, broadcaster = Projection(engine, settings.feed_keep), View(engine), Broadcaster()
    live = LiveSettings()
    own_navidrome = UserNavidromeAccounts(users.accounts, users.box)
    chooser = UpstreamChooser(
        settings.library_api_url,
        settings.navidrome_url,
        settings.navidrome_user,
        settings.navidrome_password,
        lambda: live.pipeline.navidrome_url,
        LiveNavidromeAccount(lambda: live.pipeline, users.box),
        library_secret=library_api_secret(settings.library_api_secret, settings.data_dir),
        user_account=own_navidrome,
    )
    holder: dict[str, aiohttp.ClientSession] = {}
    # one count for /api/login and /rest: a guess is a guess, whichever door it comes through
    limiter = GuessLimiter(settings.auth_guesses_per_minute, settings.auth_account_guesses_per_minute)

    def http() -> aiohttp.ClientSession:
        return holder["session"]

    library = SubsonicLibrary(chooser, http)
    gate, settings_store = RequestGate(), SettingsStore(users.box)

    async def redrive_letters(ids: list[int]) -> tuple[int, dict[int, str]]:
        report = await redrive(runtime.js, ids)  # the same re-drive as `brainstream dlq redrive ID…`
        return report.published, report.failed

    gateway = Gateway(runtime.publish, gate, settings_store, users, view, redrive_letters)
    consumers = ReplicaConsumers(settings.replica_id, settings.replica_inactive_s)
    gateway.accounts_changed.append(own_navidrome.forget)
    mirror = NavidromeMirror(engine, chooser, http)
    gateway.accounts_changed.append(lambda username: mirror.touched({username}))
    for durable, handler in view_handlers(projection, broadcaster, view, gate, mirror.touched).items():
        runtime.consume(durable, handler, spec=consumers.specs[durable])
    scrobbles = ScrobblePublisher(runtime.publish)
    history = HistoryFold(connect_history(history_path(settings)), MergeConfig(settings.history_tolerance_s))
    for durable, handler in history_handlers(history).items():
        runtime.consume(durable, handler, spec=consumers.specs[durable])
    # the slots every service takes for these hosts (infra.ratelimit), so reading playing-now and connecting Last.fm
    # stay inside the one budget per host; bound by the on-connect hook
    lb_slots = KvSlotLimiter.unbound(HOSTS["listenbrainz"], 1.0)
    lastfm_slots = KvSlotLimiter.unbound(HOSTS["lastfm"], 0.2)
    lb_client = ApiClient("listenbrainz", settings.listenbrainz_url, HttpSettings(), limiter=lb_slots)
    playing_now = PlayingNow(lb_client, users.accounts)
    lastfm_client = ApiClient("lastfm", settings.lastfm_url, HttpSettings(), limiter=lastfm_slots)

    async def connect(js: JetStreamContext) -> None:
        await consumers.ensure(js)
        holder = f"{settings.replica_id}:{runtime.instance}" if settings.replica_id else None
        await rematch.bind(js, holder)
        await mirror_once.bind(js, holder)
        await gate.bind(js)
        await settings_store.bind(js)
        for slots in (lb_slots, lastfm_slots):
            await slots.bind(js)
        await live.start(js)

    runtime.on_connect(connect)
    # readers get their own connection: the fold's holds its write transaction open between statements
    history_reader = connect_history(history_path(settings))
    rematcher = Rematcher(
        history_reader, runtime.publish, base_s=settings.history_retry_base_s, cap_s=settings.history_retry_cap_s
    )
    llm = (
        LlmConfig(settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_s)
        if settings.llm_url
        else None
    )
    history_reads = [consumers.specs[d] for d in HISTORY_DURABLES]
    rematch = OnceAcrossReplicas(rematcher.round, history_reads, "gateway.rematch", settings.history_retry_every_s)
    # Navidrome playlists are made by one replica, so two never both create a user's "Discoveries"
    mirror_once = OnceAcrossReplicas(
        mirror.round,
        [consumers.specs["gateway_view_library"]],
        "gateway.discovery_mirror",
        settings.discovery_mirror_every_s,
    )
    summarizer = Summarizer(SummaryStore(accounts), llm)
    ensure_timeline_index(engine)
    tune_reader(history_reader)
    discoveries = Discoveries(engine, gateway, lambda: live.pipeline, history_reader, mirror)
    proxy = SubsonicProxy(
        users,
        chooser,
        limiter,
        AuthPolicy(settings.subsonic_allow_plain, settings.subsonic_allow_token),
        http,
        scrobbles,
        KeepAlivePool(FORWARD_RESPONSE - {"content-length"}, timeout_s=settings.proxy_timeout_s),
        NavidromeMarks(engine, runtime.publish, discoveries.rules_for),
    )

    # reached only when the app is served without `front_door` (the door answers /rest before Litestar)
    @asgi("/rest", is_mount=True, copy_scope=False, include_in_schema=False)
    async def rest(scope: Scope, receive: Receive, send: Send) -> None:
        await proxy(scope, receive, send)  # type: ignore[arg-type]

    runtime.add_check("subsonic_upstream", upstream_check(chooser, http))

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        holder["session"] = aiohttp.ClientSession(
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(sock_connect=settings.proxy_timeout_s, sock_read=settings.proxy_timeout_s),
            connector=aiohttp.TCPConnector(limit=256, limit_per_host=128, keepalive_timeout=30),
        )
        try:
            await asyncio.wait_for(runtime.start(), settings.start_timeout_s)
        except TimeoutError:
            # raised out of the lifespan, the server exits non-zero: a supervisor restarts the process, where
            # waiting on would leave it up and serving nothing
            await runtime.stop()
            raise RuntimeError(
                f"NATS or JetStream not ready within {settings.start_timeout_s:.0f} s "
                f"(BRAINSTREAM_START_TIMEOUT): {runtime.wiring_error or 'no answer'}"
            ) from None
        await _first_admin(settings, users, gateway)
        retries = asyncio.create_task(_every(settings.history_retry_every_s, rematch.round, runtime, "history_retries"))
        mirroring = asyncio.create_task(
            _every(settings.discovery_mirror_every_s, mirror_once.round, runtime, "discovery_playlists", mirror.wake)
        )
        # what starting made (modules, routes, settings) lives as long as the process: out of the collector's
        # generations, a full collection during a request (insights make many short-lived rows) walks only what
        # requests made, not the whole heap (once per process: a second app in it, as in tests, freezes nothing more)
        if gc.get_freeze_count() == 0:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            retries.cancel()
            mirroring.cancel()
            await summarizer.aclose()
            await lb_client.aclose()
            await lastfm_client.aclose()
            await live.stop()
            await runtime.stop()
            await holder["session"].close()
            await proxy.pool.aclose()

    return Litestar(
        route_handlers=[
            HealthController,
            MetricsController,
            SessionController,
            MeController,
            UsersController,
            SettingsController,
            RequestsController,
            CandidatesController,
            TracksController,
            RunsController,
            LibraryController,
            LibraryMediaController,
            ListensController,
            ScrobblingController,
            EventsController,
            SonosController,
            rest,
            create_static_files_router("/static", directories=[_UI / "static"], include_in_schema=False),
            *UI_CONTROLLERS,
            HistoryPageController,
            InsightsController,
            TimezoneController,
            InsightsPageController,
            DiscoveriesController,
            DiscoveriesPageController,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "runtime": runtime,
                "settings": settings,
                "users": users,
                "view": view,
                "projection": projection,
                "broadcaster": broadcaster,
                "gateway": gateway,
                "chooser": chooser,
                "http": http,
                "library": library,
                "browser": LibraryOut(LibraryBrowser(library, view)),
                "guess_limiter": limiter,
                "password_slots": PasswordSlots(settings.password_checks),
                "setup_lock": asyncio.Lock(),
                "proxy": proxy,
                "scrobbles": scrobbles,
                "history": history_reader,
                "playing_now": playing_now,
                "view_engine": engine,
                "insight_prefs": Prefs(accounts, server_zone(settings.timezone), legacy=history_reader),
                "summarizer": summarizer,
                "discoveries": discoveries,
                "lastfm": lastfm_client,
                # binds the Last.fm callback to the session that asked (derived, so a restart keeps it valid)
                "state_key": hashlib.sha256(b"lastfm-state" + key).digest(),
            }
        ),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[security_headers, json_guard],  # type: ignore[list-item]
        template_config=TemplateConfig(directory=_UI / "templates", engine=JinjaTemplateEngine),
        openapi_config=OpenAPIConfig(title="BrainStream gateway", version=__version__, path="/schema"),
        logging_config=None,
    )


async def _every(
    interval_s: float,
    work: Callable[[], Awaitable[object]],
    runtime: ServiceRuntime,
    name: str,
    wake: asyncio.Event | None = None,
) -> None:
    """A supervised background loop: a failed round is logged and the next one comes, never a silent death. With
    `wake`, a round also comes (a moment after, so a burst is one round) as soon as it is set."""
    beat = runtime.loop_heartbeat(name, stall_after_s=interval_s * 5 + 60)
    log = logging.getLogger(__name__)
    while True:
        try:
            await work()
        except Exception:
            log.exception("%s round failed; trying again in %.0f s", name, interval_s)
        beat.beat()
        if wake is None:
            await asyncio.sleep(interval_s)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), interval_s)
            await asyncio.sleep(min(0.5, interval_s))
        wake.clear()


async def _first_admin(settings: Settings, users: Users, gateway: Gateway) -> None:
    """BRAINSTREAM_ADMIN_USER/PASSWORD make the first administrator; without them the setup page asks."""
    if users.count() or not settings.admin_user:
        return
    if not settings.admin_password:
        raise SystemExit("BRAINSTREAM_ADMIN_USER is set but BRAINSTREAM_ADMIN_PASSWORD is missing")
    try:
        row = await asyncio.to_thread(users.create, settings.admin_user, settings.admin_password, is_admin=True)
    except (UserError, IntegrityError):
        if users.get(settings.admin_user) is None:
            raise
        return  # another replica starting at the same moment made it
    await gateway.settings.put_accounts(users.accounts(row.username))


def front_door(app: Litestar) -> ASGIApp:
    """/rest goes straight to the proxy; everything else to Litestar.

    Every Subsonic call is a proxy hop; Litestar's routing and middleware around it cost about as much as the hop, so
    the door hands /rest over before Litestar sees it.

    X-Forwarded-For is read only from the proxies in BRAINSTREAM_TRUSTED_PROXIES (uvicorn's own middleware, so the
    guessing limits count the real client); from anyone else it is ignored, since any caller can write it.
    """
    proxy: SubsonicProxy = app.state.proxy

    async def door(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith("/rest/"):
            await proxy(scope, receive, send)  # type: ignore[arg-type]
        else:
            await app(scope, receive, send)

    trusted = [p.strip() for p in app.state.settings.trusted_proxies.split(",") if p.strip()]
    if not trusted:
        return door
    return ProxyHeadersMiddleware(door, trusted_hosts=trusted)  # type: ignore[arg-type,return-value]


def main() -> None:
    configure_logging(SERVICE)
    settings = Settings()
    uvicorn.run(
        front_door(create_app(settings)),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # front_door reads X-Forwarded-For, from the trusted proxies only
        timeout_graceful_shutdown=5,
    )
