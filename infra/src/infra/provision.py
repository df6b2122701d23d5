"""Streams, durable consumers and KV buckets as code, from contracts. Safe to run any number of times."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, KeyValueConfig, StorageType
from nats.js.api import StreamConfig as NatsStreamConfig
from nats.js.errors import APIError, BucketNotFoundError, NotFoundError, ServerError

from contracts.buckets import KV_BUCKETS
from contracts.topology import CONSUMERS, STREAMS, ConsumerSpec, KvSpec, StreamSpec

__all__ = [
    "REPLICAS_ENV",
    "ProvisionError",
    "ProvisionReport",
    "consumer_config",
    "create_when_store_ready",
    "provision",
    "replicas_setting",
    "stream_config",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

REPLICAS_ENV = "BRAINSTREAM_NATS_REPLICAS"
"""Copies of every stream and KV bucket: 1 on one machine, 3 on a three-node cluster (survives losing one node)."""


def replicas_setting() -> int:
    """BRAINSTREAM_NATS_REPLICAS, 1 when unset. JetStream accepts 1 to 5, and needs at least that many nodes."""
    raw = os.environ.get(REPLICAS_ENV, "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 5:
        raise ValueError(f"{REPLICAS_ENV} must be a whole number from 1 to 5 (got {raw!r})")
    return int(raw)


class ProvisionError(RuntimeError):
    """JetStream refused a stream, bucket or consumer; the message says what to change."""


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def stream_config(spec: StreamSpec, replicas: int = 1) -> NatsStreamConfig:
    return NatsStreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        storage=StorageType.FILE,
        max_bytes=spec.max_bytes,
        max_age=spec.max_age_s,
        discard=DiscardPolicy.OLD,
        duplicate_window=spec.duplicate_window_s,
        num_replicas=replicas,
    )


def consumer_config(spec: ConsumerSpec, replicas: int = 1) -> ConsumerConfig:
    filters = list(spec.filter_subjects)
    return ConsumerConfig(
        durable_name=spec.durable,
        description=spec.description,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=spec.ack_wait_s,
        # One delivery beyond the handler's attempts: see ConsumerSpec.max_deliver.
        max_deliver=spec.max_deliver + 1,
        max_ack_pending=1000,
        filter_subject=filters[0] if len(filters) == 1 else None,
        filter_subjects=filters if len(filters) > 1 else None,
        # explicit: a consumer made on an R1 stream stays R1 when the stream is scaled up, and its delivery state
        # (what is acked, what is pending) would die with its one node
        num_replicas=replicas,
    )


def _kv_config(spec: KvSpec, replicas: int) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=spec.bucket,
        description=spec.description,
        history=spec.history,
        ttl=spec.ttl_s or None,
        max_bytes=spec.max_bytes,
        storage=StorageType.FILE,
        replicas=replicas,
    )


async def provision(js: JetStreamContext, replicas: int | None = None) -> ProvisionReport:
    """Create what is missing and update what differs, replicas included: JetStream changes a stream's (and a KV
    bucket's) replica count in place, so raising BRAINSTREAM_NATS_REPLICAS and provisioning again scales a running
    deployment up without losing a message."""
    report = ProvisionReport()
    count = replicas_setting() if replicas is None else replicas
    try:
        for spec in STREAMS:
            await _ensure_stream(js, spec, report, count)
        for kv in KV_BUCKETS:
            await _ensure_kv(js, kv, report, count)
        for consumer in CONSUMERS:
            await _ensure_consumer(js, consumer, report, count)
    except APIError as exc:
        if count == 1:
            raise
        # "replicas > 1 not supported in non-clustered mode", "no suitable peers for placement", ...
        raise ProvisionError(
            f"JetStream refused {count} replicas: {exc.description}. {REPLICAS_ENV}={count} needs a cluster of at "
            f"least {count} JetStream nodes, all up; lower it or add nodes"
        ) from exc
    log.info(
        "provisioned: %d created, %d updated, %d unchanged",
        len(report.created),
        len(report.updated),
        len(report.unchanged),
    )
    return report


_STORE_NOT_READY = 10049
"""JetStream's "error creating store for stream": the store of a stream of that name, deleted a moment ago, is still
being removed (seen under load when a stream or bucket is deleted and made again at once)."""


async def create_when_store_ready(make: Callable[[], Awaitable[T]], *, timeout: float = 10.0) -> T:
    """Run `make` (an add_stream or create_key_value), trying again while the server's old store is not gone yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await make()
        except ServerError as exc:
            if exc.err_code != _STORE_NOT_READY or time.monotonic() >= deadline:
                raise
            log.info("JetStream store not ready yet (%s); trying again", exc.description)
            await asyncio.sleep(0.2)


async def _ensure_stream(js: JetStreamContext, spec: StreamSpec, report: ProvisionReport, replicas: int) -> None:
    wanted = stream_config(spec, replicas)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await create_when_store_ready(lambda: js.add_stream(wanted))
        report.created.append(f"stream {spec.name}")
        return
    current = info.config
    if (
        sorted(current.subjects or []) != sorted(wanted.subjects or [])
        or current.max_bytes != wanted.max_bytes
        or (current.max_age or 0) != (wanted.max_age or 0)
        or current.duplicate_window != wanted.duplicate_window
        or current.description != wanted.description
        or (current.num_replicas or 1) != replicas
    ):
        await js.update_stream(wanted)
        if (current.num_replicas or 1) != replicas:
            await _await_peers(js, spec.name, replicas)
        report.updated.append(f"stream {spec.name}")
    else:
        report.unchanged.append(f"stream {spec.name}")


async def _await_peers(js: JetStreamContext, stream: str, replicas: int, timeout: float = 30.0) -> None:
    """A replica change is carried out by the cluster after the update answers; the stream's consumers can only
    follow once its new peer set exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.stream_info(stream)
        peers = 1 + len((info.cluster.replicas or []) if info.cluster else [])
        if peers == replicas:
            return
        await asyncio.sleep(0.1)
    log.warning("stream %s not at %d replicas after %.0fs; the cluster goes on with it", stream, replicas, timeout)


async def _ensure_kv(js: JetStreamContext, spec: KvSpec, report: ProvisionReport, replicas: int) -> None:
    try:
        await js.key_value(spec.bucket)
    except BucketNotFoundError:
        await create_when_store_ready(lambda: js.create_key_value(_kv_config(spec, replicas)))
        report.created.append(f"kv {spec.bucket}")
        return
    # A bucket is the stream KV_<bucket>; only its replica count is changed here, the rest stays as created.
    info = await js.stream_info(f"KV_{spec.bucket}")
    if (info.config.num_replicas or 1) != replicas:
        info.config.num_replicas = replicas
        await js.update_stream(info.config)
        await _await_peers(js, info.config.name or f"KV_{spec.bucket}", replicas)
        report.updated.append(f"kv {spec.bucket}")
    else:
        report.unchanged.append(f"kv {spec.bucket}")


async def _ensure_consumer(js: JetStreamContext, spec: ConsumerSpec, report: ProvisionReport, replicas: int) -> None:
    wanted = consumer_config(spec, replicas)
    try:
        info = await js.consumer_info(spec.stream, spec.durable)
    except NotFoundError:
        await js.add_consumer(spec.stream, wanted)
        report.created.append(f"consumer {spec.stream}/{spec.durable}")
        return
    current = info.config
    current_filters = sorted(current.filter_subjects or ([current.filter_subject] if current.filter_subject else []))
    if (
        current_filters != sorted(spec.filter_subjects)
        or current.ack_wait != wanted.ack_wait
        or current.max_deliver != wanted.max_deliver
        or current.description != wanted.description
        or (current.num_replicas or 1) != replicas  # 0 (as the stream) on an R1 stream is one copy
    ):
        # add_consumer with an existing durable name updates the editable fields in place
        await js.add_consumer(spec.stream, wanted)
        report.updated.append(f"consumer {spec.stream}/{spec.durable}")
    else:
        report.unchanged.append(f"consumer {spec.stream}/{spec.durable}")
