"""Prometheus metrics of every BrainStream process, and how they leave it.

Every process keeps its metrics in prometheus-client's default registry. Exposure goes over NATS, not a port per
process: each `ServiceRuntime` answers the core request `metrics.<service>` with its text exposition, every sample
labelled with the process's `instance`. `gather_metrics(nc)` asks every service, collects the answers of all its
replicas within a short scatter window and merges them into one exposition, which the gateway serves at
GET /metrics. The names are listed in infra/README.md ("Metrics").

The recording helpers take the BrainStream service as a label. Code that does not know which service it runs in
(the HTTP client, caches) uses the process's service, set once by the runtime with `set_process_service`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from contracts.health import SERVICES

__all__ = [
    "CACHE_LOOKUPS",
    "CONSUMER_ACK_PENDING",
    "CONSUMER_PENDING",
    "EVENTS_FAILED",
    "EVENTS_HANDLED",
    "EVENT_SECONDS",
    "EXTERNAL_REQUESTS",
    "EXTERNAL_SECONDS",
    "LOOP_BEAT_AGE",
    "RATE_LIMIT_WAITS",
    "RATE_LIMIT_WAIT_SECONDS",
    "cache_hit",
    "cache_miss",
    "exposition",
    "gather_metrics",
    "merge_expositions",
    "metrics_subject",
    "process_service",
    "set_process_service",
]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

EVENTS_HANDLED = Counter(
    "brainstream_events_handled",
    "Events whose handler returned (acked), per consumer and subject.",
    ["service", "consumer", "subject"],
)
EVENTS_FAILED = Counter(
    "brainstream_events_failed",
    "Events that failed: reason `error` (handler raised, redelivered later), `deferred` (a source only rate-limited; "
    "redelivered after its wait, not a fault) or a dead-letter reason "
    "(`exhausted`, `undecodable`, `unknown_subject`, `lost_final_attempt`).",
    ["service", "consumer", "subject", "reason"],
)
EVENT_SECONDS = Histogram(
    "brainstream_event_handling_seconds",
    "Time spent in the handler per delivery, whatever its outcome.",
    ["service", "consumer", "subject"],
    buckets=_LATENCY_BUCKETS,
)
EXTERNAL_REQUESTS = Counter(
    "brainstream_external_requests",
    "HTTP requests to external APIs by API and status (`error` for timeouts and connection failures).",
    ["service", "api", "status"],
)
EXTERNAL_SECONDS = Histogram(
    "brainstream_external_request_seconds",
    "Duration of single HTTP requests to external APIs (one attempt, without rate-limit waits).",
    ["service", "api"],
    buckets=_LATENCY_BUCKETS,
)
RATE_LIMIT_WAITS = Counter(
    "brainstream_rate_limit_waits",
    "Requests that had to wait for a rate-limit slot before going out.",
    ["service", "api"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "brainstream_rate_limit_wait_seconds",
    "Seconds spent waiting for rate-limit slots.",
    ["service", "api"],
)
CACHE_LOOKUPS = Counter(
    "brainstream_cache_lookups",
    "Cache lookups by cache and result (`hit` or `miss`).",
    ["service", "cache", "result"],
)
CONSUMER_PENDING = Gauge(
    "brainstream_consumer_pending",
    "Messages of the stream not yet delivered to the durable consumer (its lag), refreshed periodically.",
    ["service", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "brainstream_consumer_ack_pending",
    "Messages delivered to the durable consumer and not yet acked (in flight or waiting for redelivery).",
    ["service", "consumer"],
)
LOOP_BEAT_AGE = Gauge(
    "brainstream_loop_heartbeat_age_seconds",
    "Seconds since a supervised background loop last reported progress (at exposition time).",
    ["service", "loop"],
)

_process_service = "unknown"


def set_process_service(service: str) -> None:
    """The service this process runs; the runtime sets it so the HTTP client and caches can label their metrics."""
    global _process_service
    _process_service = service


def process_service() -> str:
    return _process_service


def cache_hit(cache: str, service: str | None = None) -> None:
    """Count a lookup in `cache` that was answered from it."""
    CACHE_LOOKUPS.labels(service or _process_service, cache, "hit").inc()


def cache_miss(cache: str, service: str | None = None) -> None:
    """Count a lookup in `cache` that had to go to the source."""
    CACHE_LOOKUPS.labels(service or _process_service, cache, "miss").inc()


def metrics_subject(service: str) -> str:
    return f"metrics.{service}"


class _Static:
    """A collector that hands out ready-made metric families (used to re-emit parsed or filtered ones)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def _render(families: Iterable[Metric]) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(families))  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def exposition(service: str, instance: str, registry: CollectorRegistry = REGISTRY) -> str:
    """This process's metrics for `service`, each sample labelled with `instance`.

    Samples labelled with another service are left out (tests run several services in one process); samples
    without a service label (process and Python metrics) are kept.
    """
    families: list[Metric] = []
    for family in registry.collect():
        out = Metric(family.name, family.documentation, family.type, family.unit)
        for s in family.samples:
            if s.name.endswith("_created") and family.type in ("counter", "histogram", "summary"):
                continue  # creation timestamps only bloat the scrape
            if s.labels.get("service", service) != service:
                continue
            out.samples.append(Sample(s.name, {**s.labels, "instance": instance}, s.value, s.timestamp, s.exemplar))
        if out.samples:
            families.append(out)
    return _render(families)


def merge_expositions(texts: Iterable[str]) -> str:
    """Merge text expositions (one per process, each with its own `instance` label) into one valid exposition."""
    merged: dict[str, Metric] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            into = merged.get(family.name)
            if into is None:
                into = merged[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
            into.samples.extend(family.samples)
    return _render(merged.values())


async def gather_metrics(nc: NatsClient, services: Iterable[str] = SERVICES, window_s: float = 0.25) -> str:
    """Ask every process of every service for its metrics and return them merged.

    Replicas all answer the same request, so this is a scatter-gather: the request goes out with one reply inbox
    and every answer that arrives within `window_s` is kept. A service with no process simply contributes nothing.
    """
    inbox = nc.new_inbox()
    answers: list[str] = []

    async def on_answer(msg: Msg) -> None:
        answers.append(msg.data.decode("utf-8", errors="replace"))

    sub = await nc.subscribe(f"{inbox}.*", cb=on_answer)
    try:
        for service in services:
            await nc.publish(metrics_subject(service), b"", reply=f"{inbox}.{service}")
        await nc.flush()
        await asyncio.sleep(window_s)  # replicas are not counted up front: whoever answers in time is in
    finally:
        await sub.unsubscribe()
    return merge_expositions(answers)
