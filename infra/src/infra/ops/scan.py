"""Reading a stream from a point to its current end, fast, without touching any durable consumer.

`scan_batches` pulls through a connection of its own that parses the protocol itself (`wire`): five times less
CPU a message than nats-py. A server that wants TLS or credentials other than a user, password or token is read
through nats-py instead: an ordered consumer (ephemeral, no acks, flow-controlled by the server) pushes the
messages into a bounded buffer that is handed over in batches. Either consumer is removed when the scan ends.
What arrives after the scan started is not read: a scan is a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # nats is imported when a stream is scanned: a replay's fold process needs `Stored` alone
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

__all__ = ["Stored", "scan_batches", "scan_stream"]

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Stored:
    """One stored message as read back.

    Made by the hundred thousand in a replay, so its headers and time stay in the form they came in until asked
    for: a replay reads neither."""

    stream: str
    seq: int
    subject: str
    data: bytes
    head: Mapping[str, str] | bytes
    """The headers, or their wire form (`NATS/1.0\\r\\nName: value...`), parsed by `headers`."""
    stored_ns: int | None
    """When the server stored it, in nanoseconds since the epoch."""
    pending: int = 0
    """Messages of the scan still to come after this one (as the server counted them when it sent this one)."""

    @property
    def headers(self) -> dict[str, str]:
        head = self.head
        if not isinstance(head, bytes):
            return dict(head)
        out: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n")[1:]:  # a repeated name keeps its last value
            name, colon, value = line.partition(":")
            if colon:
                out[name.strip()] = value.strip()
        return out

    @property
    def stored_at(self) -> datetime | None:
        """To the microsecond, rounded down: a scan from this time starts at this message, not after it."""
        return None if self.stored_ns is None else _EPOCH + timedelta(microseconds=self.stored_ns // 1000)


async def scan_batches(
    js: JetStreamContext,
    stream: str,
    *,
    subject: str | None = None,
    start_seq: int = 1,
    start_time: datetime | None = None,
) -> AsyncGenerator[list[Stored], None]:
    """The stream's messages (optionally only those on `subject`, wildcards allowed) in sequence order and in
    batches, from `start_seq`, or from the first message stored at or after `start_time`."""
    from .wire import Unsupported, pull_stream

    info = await js.stream_info(stream)
    last = info.state.last_seq
    if info.state.messages == 0 or last < start_seq:
        return
    filters = [subject] if subject else list(info.config.subjects or [">"])
    if len(filters) > 1:
        raise ValueError(f"stream {stream} has several subjects; pass one as `subject`")
    config: dict[str, Any] = {"deliver_policy": "all"}
    if start_time is not None:
        config = {"deliver_policy": "by_start_time", "opt_start_time": _rfc3339(start_time)}
    elif start_seq > 1:
        config = {"deliver_policy": "by_start_sequence", "opt_start_seq": start_seq}
    pulled = pull_stream(js, stream, last=last, filter_subject=filters[0], config=config)
    try:
        async with contextlib.aclosing(pulled) as batches:
            async for batch in batches:
                yield batch
        return
    except Unsupported as exc:
        log.info("reading %s through nats-py: %s", stream, exc)
    async with contextlib.aclosing(_scan_ordered(js, stream, filters[0], last, config)) as batches:
        async for batch in batches:
            yield batch


async def scan_stream(
    js: JetStreamContext,
    stream: str,
    *,
    subject: str | None = None,
    start_seq: int = 1,
    start_time: datetime | None = None,
) -> AsyncGenerator[Stored, None]:
    """`scan_batches`, a message at a time."""
    batches = scan_batches(js, stream, subject=subject, start_seq=start_seq, start_time=start_time)
    async with contextlib.aclosing(batches) as each:
        async for batch in each:
            for stored in batch:
                yield stored


async def _scan_ordered(
    js: JetStreamContext,
    stream: str,
    subject: str,
    last: int,
    start: dict[str, Any],
    buffer: int = 4096,
) -> AsyncGenerator[list[Stored], None]:
    """The same through nats-py's ordered consumer, for servers `wire` cannot sign in to; `start` is the deliver
    policy and start position `pull_stream` was given."""
    from nats.errors import Error as NatsError
    from nats.js.api import ConsumerConfig, DeliverPolicy

    from .wire import position

    pending: list[Msg] = []
    arrived, room = asyncio.Event(), asyncio.Event()
    room.set()

    async def on_msg(msg: Msg) -> None:
        pending.append(msg)
        arrived.set()
        if len(pending) >= buffer:  # hold the subscription back; the server's flow control does the rest
            room.clear()
            await room.wait()

    # the start goes in the consumer's config: `subscribe` itself takes a deliver policy but no start position
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy(start["deliver_policy"]),
        opt_start_seq=start.get("opt_start_seq"),
        opt_start_time=start.get("opt_start_time"),  # the RFC 3339 text, which the server takes as it is
    )
    sub = await js.subscribe(subject, stream=stream, cb=on_msg, ordered_consumer=True, config=config)
    try:
        ci = await sub.consumer_info()
        if not pending and not ci.num_pending and not (ci.delivered and ci.delivered.stream_seq):
            return  # nothing matches
        while True:
            if not pending:
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), timeout=10.0)
                except TimeoutError:
                    return  # the rest was removed (age or size limits) while we read
            batch = pending[:]
            del pending[:]
            room.set()
            out = []
            for msg in batch:
                seq, nanos, left = position((msg.reply or "").encode())
                out.append(Stored(stream, seq, msg.subject, msg.data or b"", dict(msg.headers or {}), nanos, left))
                if left == 0 or seq >= last:
                    yield out
                    return
            yield out
    finally:
        with contextlib.suppress(NatsError, OSError):
            await sub.unsubscribe()


def _rfc3339(at: datetime) -> str:
    """The form the server's consumer config takes (UTC, `Z`)."""
    if at.tzinfo is None:
        raise ValueError("start_time must carry a timezone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
