"""Rebuild the read model by replaying every stream from its first message through the same projection."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from contracts.base import Message
from contracts.catalog import CATALOG
from contracts.topology import consumers_of

from .. import SERVICE
from .projection import Projection

__all__ = ["replay"]


async def replay(js: JetStreamContext, projection: Projection, *, idle_s: float = 0.5) -> int:
    """Apply every stored message; already-applied sequences are skipped by the checkpoints. Returns messages seen.

    The streams are read whole, then merged by the time each event happened, because a journey crosses streams (a
    retry on GATEWAY after a failure on ACQUIRE) and the fold must see them in the order they happened.
    """
    seen = 0
    stored: list[tuple[Message, str, int]] = []
    for spec in (c for c in consumers_of(SERVICE) if c.durable.startswith("gateway_view_")):
        try:
            info = await js.stream_info(spec.stream)
        except NotFoundError:
            continue
        last = info.state.last_seq
        if not last:
            continue
        sub = await js.subscribe(
            spec.filter_subjects[0].split(".")[0] + ".>",
            stream=spec.stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=idle_s)
                except TimeoutError:
                    break
                cls = CATALOG.get(msg.subject)
                seq = msg.metadata.sequence.stream
                if cls is not None:
                    stored.append((cls.from_json(msg.data), spec.stream, seq))
                seen += 1
                if seq >= last:
                    break
        finally:
            await sub.unsubscribe()
    stored.sort(key=lambda item: (item[0].occurred_at, item[2]))
    for event, stream, seq in stored:
        await asyncio.to_thread(projection.apply, event, stream, seq)
    return seen
