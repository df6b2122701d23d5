"""Composition root of acquire-svc: settings → adapters → service → subscribers. Nothing imports this module."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.health import HealthStatus
from infra.http import ApiClient, HttpSettings, user_agent
from infra.livesettings import LiveSettings
from infra.logs import configure_logging
from infra.runtime import ServiceRuntime

from . import SERVICE, __version__, handlers
from .adapters.covers import HttpCoverFetcher
from .adapters.kv import KvGate, KvNegativeCache, KvOwnedIndex
from .adapters.staging import Staging
from .backends.inbox import InboxBackend
from .backends.slskd import SlskdBackend
from .backends.url import UrlBackend
from .backends.ytdlp import PageReader, Searcher, YtDlpBackend, ytdlp_page_reader, ytdlp_searcher
from .domain.validation import Rules
from .ports import Backend
from .service import AcquireService, Checkpoint, Options
from .settings import Settings
from .urlinspect import UrlInspector

__all__ = ["App", "build", "find_ffmpeg", "main"]

log = logging.getLogger(__name__)
MiB = 1024 * 1024


def find_ffmpeg(configured: str | None) -> str | None:
    """The setting, else `ffmpeg` on PATH, else the binary the imageio-ffmpeg package ships, else None."""
    if configured:
        return configured
    if found := shutil.which("ffmpeg"):
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return None


@dataclass
class App:
    runtime: ServiceRuntime
    service: AcquireService
    live: LiveSettings
    background: Callable[[], Coroutine[Any, Any, None]]
    """Follows the live settings; closes the HTTP clients when cancelled."""


def build(
    settings: Settings,
    *,
    checkpoint: Checkpoint | None = None,
    searcher: Searcher | None = None,
    read_page: PageReader | None = None,
) -> App:
    """Wire everything from settings; a test-only entry point passes a `checkpoint` hook, tests a fake yt-dlp
    search and page reader."""
    runtime = ServiceRuntime(SERVICE, __version__, settings)
    http = HttpSettings()
    live = LiveSettings()
    staging = Staging(settings.staging)
    max_bytes = int(settings.max_file_mb * MiB)

    covers_client = ApiClient("covers", "", http)
    url_client = httpx.AsyncClient(
        headers={"User-Agent": user_agent(http.contact)}, timeout=settings.url_timeout_s, follow_redirects=False
    )
    clients: list[Any] = [covers_client]
    url_backend = UrlBackend(url_client, max_bytes=max_bytes, allow_private=settings.url_allow_private)
    backends: dict[str, Backend] = {
        "url": url_backend,
        "inbox": InboxBackend(
            settings.inbox, min_similarity=settings.min_title_similarity, remove_taken=settings.inbox_remove_taken
        ),
        "yt-dlp": YtDlpBackend(
            searcher
            or ytdlp_searcher(settings.ytdlp_search_prefix, settings.ytdlp_socket_timeout_s, settings.ytdlp_cookies),
            results=settings.ytdlp_results,
            timeout_s=settings.ytdlp_timeout_s,
            socket_timeout_s=settings.ytdlp_socket_timeout_s,
            cookies=settings.ytdlp_cookies,
            ffmpeg=find_ffmpeg(settings.ffmpeg),
            max_bytes=max_bytes,
            min_similarity=settings.min_title_similarity,
        ),
    }
    if settings.slskd_url and settings.slskd_api_key and settings.slskd_downloads_dir:
        slskd_client = ApiClient("slskd", settings.slskd_url, http, headers={"X-API-Key": settings.slskd_api_key})
        clients.append(slskd_client)
        backends["slskd"] = SlskdBackend(
            slskd_client,
            settings.slskd_downloads_dir,
            formats=settings.slskd_formats.split(","),
            search_timeout_s=settings.slskd_search_timeout_s,
            stall_timeout_s=settings.slskd_stall_timeout_s,
            poll_s=settings.slskd_poll_s,
            min_similarity=settings.min_title_similarity,
            max_bytes=max_bytes,
        )

    def backend_order() -> list[str]:
        wanted = live.pipeline.acquire_backends or settings.backend_list
        missing = [b for b in wanted if b not in backends]
        if missing:
            log.warning("backends %s are not configured here and are left out", missing)
        return [b for b in wanted if b in backends]

    def album_mbid() -> bool:
        value = live.pipeline.tag_album_mbid
        return settings.tag_album_mbid if value is None else value

    service = AcquireService(
        gate=KvGate(lambda: runtime.js),
        negative=KvNegativeCache(lambda: runtime.js),
        owned=KvOwnedIndex(lambda: runtime.js),
        backends=backends,
        staging=staging,
        covers=HttpCoverFetcher(covers_client, int(settings.cover_max_mb * MiB)),
        rules=Rules(
            allowed_codecs=settings.codecs,
            min_bitrate_kbps=settings.min_bitrate_kbps,
            tolerance_s=settings.duration_tolerance_s,
            tolerance_pct=settings.duration_tolerance_pct,
            min_title_similarity=settings.min_title_similarity,
        ),
        options=Options(max_attempts=settings.max_attempts, backends=backend_order, album_mbid=album_mbid),
        publish=runtime.publish,
        checkpoint=checkpoint,
    )
    runtime.consume("acquire_resolved", handlers.on_resolved(service))
    page_reader = read_page or ytdlp_page_reader(settings.ytdlp_socket_timeout_s, settings.ytdlp_cookies)
    inspector = UrlInspector(url_backend, page_reader, staging, runtime.publish)
    runtime.consume("acquire_url_requests", handlers.on_url_request(inspector))

    def staging_check() -> tuple[HealthStatus, dict[str, Any]]:
        ok = staging.root.is_dir() and shutil.disk_usage(staging.root).free > 512 * MiB
        detail = {
            "path": str(staging.root),
            "free_mib": shutil.disk_usage(staging.root).free // MiB if staging.root.is_dir() else None,
            "backends": backend_order(),
            "last_tagged_s_ago": None
            if service.last_tagged_at is None
            else round(asyncio.get_running_loop().time() - service.last_tagged_at, 1),
        }
        return (HealthStatus.OK if ok else HealthStatus.DEGRADED), detail

    runtime.add_check("staging", staging_check)
    # the values in force, live or from the environment, so the Settings page shows them instead of blanks
    runtime.add_check(
        "settings",
        lambda: (
            HealthStatus.OK,
            {
                "acquire_backends": live.pipeline.acquire_backends or settings.backend_list,
                "tag_album_mbid": album_mbid(),
            },
        ),
    )

    async def background() -> None:
        try:
            await live.start(runtime.js)
            await asyncio.Event().wait()
        finally:
            await live.stop()
            await url_client.aclose()
            for client in clients:
                await client.aclose()

    background.__name__ = "live settings"
    return App(runtime, service, live, background)


def main(checkpoint: Checkpoint | None = None) -> None:
    configure_logging(SERVICE)
    settings = Settings()
    staging = Staging(settings.staging)
    staging.ensure()
    staging.remove_orphans()  # before consuming: every partial download of a dead process goes, and only those
    app = build(settings, checkpoint=checkpoint)
    asyncio.run(app.runtime.run(app.background))
