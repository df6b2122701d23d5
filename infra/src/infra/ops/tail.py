"""`brainstream tail`: events as they are stored, from every stream whose subjects can match the filter.

One ordered consumer per stream (ephemeral, no acks, flow-controlled by the server) delivers only what is new,
or, with `last`, the last N messages of each stream first. Nothing of the durable consumers is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.topology import STREAMS, subject_matches

__all__ = ["Tailed", "overlaps", "tail"]


@dataclass(frozen=True)
class Tailed:
    stream: str
    seq: int
    subject: str
    at: datetime
    body: dict[str, Any] | None
    """The JSON body, or None when the bytes are not a JSON object."""
    raw: bytes
    headers: dict[str, str]


def overlaps(a: str, b: str) -> bool:
    """Whether two subject patterns can match a common subject."""
    ta, tb = a.split("."), b.split(".")
    for i in range(max(len(ta), len(tb))):
        x = ta[i] if i < len(ta) else None
        y = tb[i] if i < len(tb) else None
        if x == ">" or y == ">":
            return x is not None and y is not None
        if x is None or y is None:
            return False
        if x != y and "*" not in (x, y):
            return False
    return True


def _decode(msg: Msg) -> Tailed:
    meta = msg.metadata
    try:
        parsed = json.loads(msg.data)
    except ValueError:
        parsed = None
    return Tailed(
        meta.stream,
        meta.sequence.stream,
        msg.subject,
        meta.timestamp if meta.timestamp else datetime.now(UTC),
        parsed if isinstance(parsed, dict) else None,
        msg.data or b"",
        dict(msg.headers or {}),
    )


async def tail(
    js: JetStreamContext,
    sink: Callable[[Tailed], None],
    stop: asyncio.Event,
    *,
    subject: str = ">",
    last: int = 0,
    ready: asyncio.Event | None = None,
) -> None:
    """Call `sink` for every new message matching `subject` until `stop` is set (`ready` is set once listening)."""
    subs = []
    try:
        for spec in STREAMS:
            if not any(overlaps(subject, s) for s in spec.subjects):
                continue

            async def on_msg(msg: Msg) -> None:
                if subject_matches(subject, msg.subject):
                    sink(_decode(msg))

            # the start goes in the consumer's config: `subscribe` takes a deliver policy but no start position
            config = ConsumerConfig(deliver_policy=DeliverPolicy.NEW)
            if last:
                info = await js.stream_info(spec.name)
                start = max(info.state.first_seq, info.state.last_seq - last + 1)
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, start))
            subs.append(
                await js.subscribe(spec.subjects[0], stream=spec.name, cb=on_msg, ordered_consumer=True, config=config)
            )
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        for sub in subs:
            with contextlib.suppress(NatsError, OSError):
                await sub.unsubscribe()
