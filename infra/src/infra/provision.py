"""Streams, durable consumers and KV buckets as code, from contracts. Safe to run any number of times."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, DiscardPolicy, KeyValueConfig, StorageType
from nats.js.api import StreamConfig as NatsStreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError

from contracts.topology import CONSUMERS, KV_BUCKETS, STREAMS, ConsumerSpec, KvSpec, StreamSpec

__all__ = ["ProvisionReport", "consumer_config", "provision", "stream_config"]

log = logging.getLogger(__name__)


@dataclass
class ProvisionReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def stream_config(spec: StreamSpec) -> NatsStreamConfig:
    return NatsStreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        description=spec.description,
        storage=StorageType.FILE,
        max_bytes=spec.max_bytes,
        max_age=spec.max_age_s,
        discard=DiscardPolicy.OLD,
        duplicate_window=spec.duplicate_window_s,
        num_replicas=1,
    )


def consumer_config(spec: ConsumerSpec) -> ConsumerConfig:
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
    )


def _kv_config(spec: KvSpec) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=spec.bucket,
        description=spec.description,
        history=spec.history,
        ttl=spec.ttl_s or None,
        max_bytes=spec.max_bytes,
        storage=StorageType.FILE,
    )


async def provision(js: JetStreamContext) -> ProvisionReport:
    report = ProvisionReport()
    for spec in STREAMS:
        await _ensure_stream(js, spec, report)
    for kv in KV_BUCKETS:
        await _ensure_kv(js, kv, report)
    for consumer in CONSUMERS:
        await _ensure_consumer(js, consumer, report)
    log.info(
        "provisioned: %d created, %d updated, %d unchanged",
        len(report.created),
        len(report.updated),
        len(report.unchanged),
    )
    return report


async def _ensure_stream(js: JetStreamContext, spec: StreamSpec, report: ProvisionReport) -> None:
    wanted = stream_config(spec)
    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(wanted)
        report.created.append(f"stream {spec.name}")
        return
    current = info.config
    if (
        sorted(current.subjects or []) != sorted(wanted.subjects or [])
        or current.max_bytes != wanted.max_bytes
        or (current.max_age or 0) != (wanted.max_age or 0)
        or current.duplicate_window != wanted.duplicate_window
        or current.description != wanted.description
    ):
        await js.update_stream(wanted)
        report.updated.append(f"stream {spec.name}")
    else:
        report.unchanged.append(f"stream {spec.name}")


async def _ensure_kv(js: JetStreamContext, spec: KvSpec, report: ProvisionReport) -> None:
    try:
        await js.key_value(spec.bucket)
        report.unchanged.append(f"kv {spec.bucket}")
    except BucketNotFoundError:
        await js.create_key_value(_kv_config(spec))
        report.created.append(f"kv {spec.bucket}")


async def _ensure_consumer(js: JetStreamContext, spec: ConsumerSpec, report: ProvisionReport) -> None:
    wanted = consumer_config(spec)
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
    ):
        # add_consumer with an existing durable name updates the editable fields in place
        await js.add_consumer(spec.stream, wanted)
        report.updated.append(f"consumer {spec.stream}/{spec.durable}")
    else:
        report.unchanged.append(f"consumer {spec.stream}/{spec.durable}")
