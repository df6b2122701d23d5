"""Composition root of library-svc: settings → adapters → use cases → subscribers and HTTP. Nothing imports it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from nats.js import JetStreamContext

from contracts.discovery import DiscoveryRules
from contracts.health import HealthStatus
from contracts.pathtemplate import template_problem
from infra.http import ApiClient
from infra.lease import KvLease
from infra.livesettings import LiveSettings
from infra.logs import configure_logging
from infra.ratelimit import HOSTS, KvSlotLimiter
from infra.runtime import CheckResult, ServiceRuntime

from . import SERVICE, __version__
from .adapters.catalog import SqlCatalog
from .adapters.catalogreader import CatalogReader
from .adapters.database import create_catalog_engine, create_schema
from .adapters.extrastore import ExtraStore
from .adapters.files import LocalFiles
from .adapters.gate import KvGate
from .adapters.navidrome import NavidromeScanTrigger
from .adapters.owned import KvOwnedIndex
from .adapters.userdata import UserStore
from .api.asgi import SubsonicApp
from .api.context import ApiContext
from .api.gatewayonly import GatewayOnly
from .api.server import EmbeddedServer, run_server
from .discovery.rules import Rules, resolve
from .discovery.service import Discoveries
from .discovery.store import DiscoveryStore
from .domain.transcoding import PlayerRule
from .domain.versions import Versions
from .handlers import DiscoveryHandlers, Handlers
from .info.matching import LibraryMatch
from .info.service import Info, InfoService
from .info.sources import ListenBrainzSource, MusicBrainzSource
from .media.support import Media
from .ports import ScanTrigger
from .scanning import Scanner
from .service import Library, NoTrigger
from .settings import Settings
from .writer import WRITER_KEY, become_writer, keep_writing

__all__ = ["Service", "build", "main"]

log = logging.getLogger(__name__)


@dataclass
class Service:
    runtime: ServiceRuntime
    library: Library
    scanner: Scanner
    http: uvicorn.Server
    live: LiveSettings
    trigger: ScanTrigger
    settings: Settings
    info: Info | None = None
    discoveries: Discoveries | None = None


def build(settings: Settings) -> Service:
    runtime = ServiceRuntime(SERVICE, __version__, settings)
    engine = create_catalog_engine(settings.db_url)
    create_schema(engine)
    versions = Versions()
    catalog = SqlCatalog(engine, on_change=versions.bump_catalog)
    root = settings.music_dir
    root.mkdir(parents=True, exist_ok=True)
    owned = KvOwnedIndex()

    gate = KvGate()

    async def bind_kv(js: JetStreamContext) -> None:
        await owned.bind(js)
        await gate.bind(js)

    runtime.on_connect(bind_kv)
    live = LiveSettings(settings.secret_key_source())  # a user's own discovery rules sit in their sealed accounts
    trigger: ScanTrigger = NoTrigger()
    if settings.navidrome_url and settings.navidrome_user and settings.navidrome_password:
        trigger = NavidromeScanTrigger(
            ApiClient("navidrome", settings.navidrome_url),
            settings.navidrome_user,
            settings.navidrome_password,
            runtime.publish,
            debounce_s=settings.navidrome_debounce_s,
            timeout_s=settings.navidrome_scan_timeout_s,
        )

    def template() -> str:
        chosen = live.pipeline.path_template
        if chosen and (problem := template_problem(chosen)) is not None:
            # saved before templates were checked, or written to KV by hand: imports go on with the configured one
            log.warning("live path template %r not used: %s", chosen, problem)
            chosen = None
        return chosen or settings.path_template

    library = Library(root, catalog, runtime.publish, owned, template, trigger, LocalFiles())
    scanner = Scanner(root, catalog, runtime.publish, owned)
    users_changed: list[Callable[[str], None]] = [versions.bump_user]

    def user_changed(user: str) -> None:
        for hook in users_changed:
            hook(user)

    playlists_changed: list[Callable[[str], None]] = []

    def playlist_changed(owner: str) -> None:
        for hook in playlists_changed:
            hook(owner)

    store = UserStore(engine, on_change=user_changed, on_playlist=playlist_changed)
    discoveries = Discoveries(
        DiscoveryStore(engine), store, library, gate, _rules(live, settings), settings.discovery_trash_dir
    )
    # a star, a rating or a playlist of one's own may keep (or hate) a discovery: look at once
    users_changed.append(discoveries.poke)
    playlists_changed.append(discoveries.poke)
    handlers = Handlers(library, scanner, discoveries)
    runtime.consume("library_tagged", handlers.tagged)
    runtime.consume("library_commands", handlers.command)
    on_discovery = DiscoveryHandlers(discoveries)
    runtime.consume("library_discovery_plays", on_discovery.plays)
    runtime.consume("library_discovery_matches", on_discovery.matches)
    runtime.consume("library_discovery_commands", on_discovery.commands)
    extras = ExtraStore(engine, on_change=versions.bump_user)
    media = Media.build(
        settings.cache_dir,
        ffmpeg=settings.ffmpeg,
        transcode_cache_bytes=settings.transcode_cache_mb << 20,
        cover_cache_bytes=settings.cover_cache_mb << 20,
        rules=lambda: _player_rules(live, settings),
        default_format=settings.transcode_format,
    )
    info = _info(settings, extras, engine) if settings.info_enabled else None
    ctx = ApiContext(
        CatalogReader(engine, versions),
        store,
        root,
        scanner,
        runtime.publish,
        __version__,
        versions=versions,
        extras=extras,
        media=media,
        info=info,
    )
    config = uvicorn.Config(
        GatewayOnly(SubsonicApp(ctx), settings.api_secret),
        host=settings.http_host,
        port=settings.http_port,
        lifespan="off",
        http="httptools",  # C parser: h11 (pure Python) was ~15% of the CPU of a small Subsonic answer
        access_log=False,
        log_level="warning",
        log_config=None,  # keep the service's own logging (JSON lines under the runner)
    )
    http = EmbeddedServer(config)

    def catalog_check() -> CheckResult:
        last = scanner.last
        detail = {"scanning": scanner.scanning, "last_scan": str(last) if last else None, "root": str(root)}
        return (HealthStatus.OK if root.is_dir() else HealthStatus.DEGRADED), detail

    runtime.add_check("library", catalog_check)
    # the value in force, live or from the environment, so the Settings page shows it instead of a blank
    runtime.add_check("settings", lambda: (HealthStatus.OK, {"path_template": template()}))

    def media_check() -> CheckResult:
        # no ffmpeg: files still stream as they are, only transcoding is refused, so degraded rather than unhealthy
        transcoder = media.transcoder
        detail = {
            "ffmpeg": transcoder.ffmpeg,
            "transcodes_running": len(transcoder.running),
            "transcode_cache_mb": round(transcoder.cache.size / (1 << 20), 1),
            "cover_cache_mb": round(media.covers.size / (1 << 20), 1),
            "info_fetched": info.service.fetched if info is not None else None,
        }
        return (HealthStatus.OK if transcoder.ffmpeg else HealthStatus.DEGRADED), detail

    runtime.add_check("media", media_check)
    return Service(runtime, library, scanner, http, live, trigger, settings, info, discoveries)


def _rules(live: LiveSettings, settings: Settings) -> Callable[[str | None], Rules]:
    """The discovery rules of a user: their own, then the pipeline's, then BRAINSTREAM_DISCOVERY_*, then defaults."""
    env = DiscoveryRules(
        enabled=settings.discovery_enabled,
        keep_plays=settings.discovery_keep_plays,
        keep_rating=settings.discovery_keep_rating,
        keep_for=settings.discovery_keep_for,
        trash_for=settings.discovery_trash_for,
        disk_budget=settings.discovery_disk_budget,
    )

    def rules(user: str | None) -> Rules:
        account = live.users.get(user) if user else None
        return resolve(account.discovery if account else None, live.pipeline.discovery, env)

    return rules


def _player_rules(live: LiveSettings, settings: Settings) -> list[PlayerRule]:
    """The live `stream_defaults` (set in the web UI) when there are any, else BRAINSTREAM_PLAYER_DEFAULTS."""
    chosen = live.pipeline.stream_defaults
    if chosen is None:
        return settings.player_defaults
    return [PlayerRule(user=r.user, client=r.client, format=r.format, max_bitrate=r.max_bitrate) for r in chosen]


def _info(settings: Settings, extras: ExtraStore, engine: object) -> Info:
    # one request per second and host, as both ask, from the same slots every other service takes (infra.ratelimit):
    # a limiter of library-svc's own would add its requests on top of resolve-svc's and ingest-svc's. The hourly
    # budget is on top (see InfoService). The slots are bound to NATS by the on-connect hook (`serve`).
    mb_slots = KvSlotLimiter.unbound(HOSTS["musicbrainz"], 1.0)
    lb_slots = KvSlotLimiter.unbound(HOSTS["listenbrainz"], 1.0)
    mb = MusicBrainzSource(ApiClient("musicbrainz", settings.musicbrainz_url, limiter=mb_slots))
    lb = ListenBrainzSource(ApiClient("listenbrainz", settings.listenbrainz_url, limiter=lb_slots))
    fetchers = {"mb_artist": mb.artist, "mb_release": mb.release, "lb_top": lb.top_recordings, "lb_radio": lb.radio}
    service = InfoService(extras, fetchers, budget_per_hour=settings.info_budget_per_hour)
    return Info(service, LibraryMatch(engine), [mb_slots, lb_slots])  # type: ignore[arg-type]


def main() -> None:
    configure_logging(SERVICE)
    asyncio.run(run(Settings()))


async def run(settings: Settings) -> None:
    """Wait as the hot standby until this process holds the writer lease (at once when alone), then serve."""
    lease = await become_writer(settings) if settings.writer_lease_s > 0 else None
    await serve(build(settings), lease)


async def serve(service: Service, lease: KvLease | None = None) -> None:
    runtime = service.runtime

    async def connect(js: JetStreamContext) -> None:
        # before the consumers start: imports use the live path template, info the shared slots
        for slots in service.info.limiters if service.info is not None else []:
            await slots.bind(js)
        await service.live.start(js)

    runtime.on_connect(connect)

    async def startup() -> None:
        if service.settings.scan_on_start:
            await service.scanner.scan()
        owned = {o.recording_mbid: (o.track_id, o.path) for o in service.scanner.catalog.owned() if o.recording_mbid}
        written, deleted = await (await KvOwnedIndex().bind(runtime.js)).sync(owned)
        log.info("library_owned in step with the catalog: %d entries, %d stale removed", written, deleted)
        await asyncio.Event().wait()

    async def http() -> None:
        await run_server(service.http)

    jobs = [startup, http]
    if service.discoveries is not None:
        discoveries = service.discoveries

        async def lifecycle() -> None:
            await discoveries.run(service.settings.discovery_tick_s)

        jobs.append(lifecycle)
    if lease is not None:

        async def writer() -> None:
            await keep_writing(runtime, lease, WRITER_KEY)

        jobs.append(writer)
    if isinstance(service.trigger, NavidromeScanTrigger):
        jobs.append(service.trigger.run)
    await runtime.run(*jobs)
