"""Composition root of resolve-svc: settings → adapters → service → subscribers. Nothing imports this module."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from faststream.nats import NatsMessage

from contracts.health import HealthStatus
from contracts.lookup import LOOKUP_QUEUE, LOOKUP_SUBJECT
from infra.http import ApiClient, HttpSettings
from infra.logs import configure_logging
from infra.ratelimit import HOSTS, KvSlotLimiter
from infra.runtime import Delivery, ServiceRuntime

from . import SERVICE, __version__
from .adapters.albums import KvAlbumMemory
from .adapters.cache import KvCache, RefreshCache
from .adapters.commercial import Deezer, ITunes
from .adapters.coverart import CoverArtArchive, ImageProbe
from .adapters.listenbrainz import ListenBrainzMetadata
from .adapters.musicbrainz import MusicBrainz
from .chain import AlbumChain
from .domain.albums import AlbumConfig
from .domain.scoring import MatchConfig
from .handlers import Handlers, ListenHandlers
from .listens import ListenMatcher
from .lookup import RecordingLookup
from .service import Resolver
from .settings import Settings

__all__ = ["Components", "build", "main", "wire"]


@dataclass
class Components:
    """Everything built once NATS is connected; tests and benchmarks read the counters."""

    handlers: Handlers
    listens: ListenHandlers
    clients: dict[str, ApiClient]
    limiters: dict[str, KvSlotLimiter]
    cache: KvCache
    metadata: ListenBrainzMetadata
    caa: CoverArtArchive
    chain: AlbumChain
    lookup: RecordingLookup | None = None

    async def aclose(self) -> None:
        await self.metadata.aclose()
        for client in self.clients.values():
            await client.aclose()


async def wire(runtime: ServiceRuntime, settings: Settings, http: HttpSettings | None = None) -> Components:
    http = http or HttpSettings()
    js = runtime.js
    cache_kv = await js.key_value("resolve_cache")
    limits_kv = await js.key_value("rate_limits")
    ttl = {"itunes": settings.commercial_cache_ttl_s, "deezer": settings.commercial_cache_ttl_s}
    cache = KvCache(cache_kv, ttl, settings.cache_ttl_s)
    margin = settings.rate_margin_s
    # MusicBrainz and ListenBrainz refuse two requests closer than the interval: each gap gets the whole margin.
    # iTunes and Deezer count requests in a window: the margin is spread over the window's requests.
    limiters = {
        "musicbrainz": KvSlotLimiter(limits_kv, HOSTS["musicbrainz"], 1 / settings.musicbrainz_rate, margin_s=margin),
        "listenbrainz": KvSlotLimiter(
            limits_kv, HOSTS["listenbrainz"], 1 / settings.listenbrainz_rate, margin_s=margin
        ),
        "itunes": KvSlotLimiter(limits_kv, "itunes", 1 / settings.itunes_rate, margin_s=margin / 20),
        "deezer": KvSlotLimiter(limits_kv, "deezer", 1 / settings.deezer_rate, margin_s=margin / 50),
    }
    # the store searches are optional links of the chain: one try, then the next source (never a stalled queue)
    once = http.model_copy(update={"max_retries": 0})
    clients = {
        "musicbrainz": ApiClient("musicbrainz", settings.musicbrainz_url, http, limiter=limiters["musicbrainz"]),
        "listenbrainz": ApiClient("listenbrainz", settings.listenbrainz_url, http, limiter=limiters["listenbrainz"]),
        "itunes": ApiClient("itunes", settings.itunes_url, once),
        "deezer": ApiClient("deezer", settings.deezer_url, once),
        "coverartarchive": ApiClient("coverartarchive", settings.coverartarchive_url, http),
        "images": ApiClient("images", "", once, headers={"Accept": "image/*"}),
    }
    mb = MusicBrainz(clients["musicbrainz"], cache)
    metadata = ListenBrainzMetadata(
        clients["listenbrainz"], cache, batch_size=settings.lb_batch_size, window_s=settings.lb_batch_window_s
    )
    caa = CoverArtArchive(clients["coverartarchive"], cache)
    stores = {"wait_here_s": settings.store_wait_s, "max_queue_s": settings.store_max_queue_s}
    albums_kv = await js.key_value("resolve_albums")
    chain = AlbumChain(
        [
            # a refusal pauses the store for one of its windows: 20 searches a minute, 50 requests in 5 s
            ITunes(clients["itunes"], cache, limiters["itunes"], refusal_pause_s=20 / settings.itunes_rate, **stores),
            Deezer(clients["deezer"], cache, limiters["deezer"], refusal_pause_s=50 / settings.deezer_rate, **stores),
        ],
        mb,
        caa,
        ImageProbe(clients["images"], cache),
        AlbumConfig(),
        KvAlbumMemory(albums_kv),
    )
    match = MatchConfig(max_distance=settings.max_distance)
    resolver = Resolver(metadata, mb, chain, cache, match)
    fresh = MusicBrainz(clients["musicbrainz"], RefreshCache(cache_kv, ttl, settings.cache_ttl_s))
    listens = ListenHandlers(ListenMatcher(mb, fresh, cache, match), runtime.publish)
    components = Components(
        Handlers(resolver, runtime.publish), listens, clients, limiters, cache, metadata, caa, chain
    )
    components.lookup = RecordingLookup(mb, match)
    return components


class _Deferred:
    """Handlers bound before the connection exists; messages wait until the adapters are wired."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.components: Components | None = None

    async def candidate(self, event: Any, delivery: Delivery) -> None:
        await self.ready.wait()
        assert self.components is not None
        await self.components.handlers.candidate(event, delivery)

    async def request(self, event: Any, delivery: Delivery) -> None:
        await self.ready.wait()
        assert self.components is not None
        await self.components.handlers.request(event, delivery)

    async def inspected(self, event: Any, delivery: Delivery) -> None:
        await self.ready.wait()
        assert self.components is not None
        await self.components.handlers.inspected(event, delivery)

    async def lookup(self, msg: NatsMessage) -> bytes:
        # the raw message: a `bytes` parameter would have FastStream decode the JSON body into a dict first
        await self.ready.wait()
        assert self.components is not None and self.components.lookup is not None
        return await self.components.lookup.answer(msg.body)

    async def listen(self, event: Any, delivery: Delivery) -> None:
        await self.ready.wait()
        assert self.components is not None
        await self.components.listens.listen(event, delivery)


def build(settings: Settings, http: HttpSettings | None = None) -> tuple[ServiceRuntime, _Deferred]:
    runtime = ServiceRuntime(SERVICE, __version__, settings)
    deferred = _Deferred()
    runtime.consume("resolve_candidates", deferred.candidate)
    runtime.consume("resolve_requests", deferred.request)
    runtime.consume("resolve_url_inspected", deferred.inspected)
    # a person choosing what to request (the web UI): core request/reply, one replica answers (see contracts.lookup)
    runtime.broker.subscriber(LOOKUP_SUBJECT, queue=LOOKUP_QUEUE)(deferred.lookup)
    runtime.consume("resolve_listens", deferred.listen)
    runtime.consume("resolve_listen_retries", deferred.listen)

    def check() -> tuple[HealthStatus, dict[str, Any]]:
        c = deferred.components
        if c is None:
            return HealthStatus.DEGRADED, {"wired": False}
        return HealthStatus.OK, {
            "cache_hits": c.cache.hits,
            "cache_misses": c.cache.misses,
            "requests": {name: client.stats.total for name, client in c.clients.items()},
            "lb_batches": len(c.metadata.batches),
        }

    runtime.add_check("resolve", check)
    return runtime, deferred


@contextlib.asynccontextmanager
async def running(settings: Settings, http: HttpSettings | None = None) -> AsyncIterator[Components]:
    """Start one replica in this event loop (tests and benchmarks run several side by side)."""
    runtime, deferred = build(settings, http)
    await runtime.start()
    components = await wire(runtime, settings, http)
    deferred.components = components
    deferred.ready.set()
    try:
        yield components
    finally:
        await runtime.stop()
        await components.aclose()


def main() -> None:
    configure_logging(SERVICE)
    settings = Settings()
    runtime, deferred = build(settings)

    async def setup() -> None:
        deferred.components = await wire(runtime, settings)
        deferred.ready.set()

    asyncio.run(runtime.run(setup))
