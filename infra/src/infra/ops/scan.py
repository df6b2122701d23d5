"""Reading a stream from a point to its current end, fast, without touching any durable consumer.

An ephemeral pull consumer with no acks reads in large batches; it is deleted afterwards (and would expire on
its own if the tool died). What arrives after the scan started is not read: a scan is a snapshot.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

__all__ = ["Stored", "scan_stream"]


@dataclass(frozen=True)
class Stored:
    """One stored message as read back."""

    stream: str
    seq: int
    subject: str
    data: bytes
    headers: dict[str, str]
    stored_at: datetime | None


async def scan_stream(
    js: JetStreamContext,
    stream: str,
    *,
    subject: str | None = None,
    start_seq: int = 1,
    batch: int = 1000,
) -> AsyncIterator[Stored]:
    """Yield the stream's messages (optionally only those on `subject`, wildcards allowed) in sequence order."""
    info = await js.stream_info(stream)
    last = info.state.last_seq
    if info.state.messages == 0 or last < start_seq:
        return
    name = f"scan_{uuid.uuid4().hex[:12]}"
    config = ConsumerConfig(
        name=name,
        ack_policy=AckPolicy.NONE,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE if start_seq > 1 else DeliverPolicy.ALL,
        opt_start_seq=start_seq if start_seq > 1 else None,
        inactive_threshold=30.0,
        mem_storage=True,
        max_ack_pending=-1,
    )
    filters = [subject] if subject else list(info.config.subjects or [">"])
    if len(filters) == 1:
        config.filter_subject = filters[0]
    else:
        config.filter_subjects = filters
    sub = await js.pull_subscribe(filters[0], stream=stream, config=config)
    try:
        pending = (await sub.consumer_info()).num_pending or 0
        while pending > 0:
            try:
                msgs = await sub.fetch(min(batch, pending), timeout=5.0)
            except NatsTimeoutError:
                break  # the rest was removed (age or size limits) while we read
            for msg in msgs:
                meta = msg.metadata
                pending = meta.num_pending
                yield Stored(
                    stream,
                    meta.sequence.stream,
                    msg.subject,
                    msg.data or b"",
                    dict(msg.headers or {}),
                    meta.timestamp,
                )
                if meta.sequence.stream >= last:
                    return
    finally:
        with contextlib.suppress(NatsError, OSError):
            await sub.unsubscribe()
        with contextlib.suppress(NatsError, OSError):
            await js.delete_consumer(stream, name)
