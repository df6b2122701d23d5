"""Reading a stream from a point to its current end, without touching any durable consumer.

`scan_batches` reads through nats-py's ordered consumer on the caller's own connection (so whatever it signed in with,
credentials, TLS, nkeys, holds for the read too): ephemeral, no acks, flow-controlled by the server, its messages
gathered into batches of up to `BATCH` while the caller works on the last. It costs half the CPU of a pull
consumer's `fetch` (see docs/benchmarks/clients.md). The consumer is removed when the scan ends. What arrives after
the scan started is not read: a scan is a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # nats is imported when a stream is scanned: a replay's fold process needs `Stored` alone
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

__all__ = ["ReadFailed", "Stored", "position", "scan_batches", "scan_stream"]

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 4096
"""Messages gathered before the subscription is held back."""


class ReadFailed(RuntimeError):
    """The server refused the reader or stopped answering while it read."""


@dataclass(slots=True)
class Stored:
    """One stored message as read back. Made by the hundred thousand in a replay, so its time stays in the form it
    came in until asked for: a replay reads neither it nor the headers."""

    stream: str
    seq: int
    subject: str
    data: bytes
    head: Mapping[str, str]
    """The headers as nats-py read them."""
    stored_ns: int | None
    """When the server stored it, in nanoseconds since the epoch."""
    pending: int = 0
    """Messages of the scan still to come after this one (as the server counted them when it sent this one)."""

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.head)

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
    batch: int = BATCH,
    idle_s: float = 30.0,
) -> AsyncGenerator[list[Stored], None]:
    """The stream's messages (optionally only those on `subject`, wildcards allowed) in sequence order and in
    batches of up to `batch`, from `start_seq`, or from the first message stored at or after `start_time`. Raises
    `ReadFailed` when the server refuses the consumer or sends nothing for `idle_s` while messages are still to
    come."""
    from nats.errors import Error as NatsError
    from nats.js.api import ConsumerConfig, DeliverPolicy

    info = await js.stream_info(stream)
    last = info.state.last_seq
    if info.state.messages == 0 or last < start_seq:
        return
    filters = [subject] if subject else list(info.config.subjects or [">"])
    if len(filters) > 1:
        raise ValueError(f"stream {stream} has several subjects; pass one as `subject`")
    # the start goes in the consumer's config: `subscribe` itself takes a deliver policy but no start position
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    if start_time is not None:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = _rfc3339(start_time)  # type: ignore[assignment]  # the server takes the text
    elif start_seq > 1:
        config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, start_seq

    pending: list[Msg] = []
    arrived, room = asyncio.Event(), asyncio.Event()
    room.set()

    async def on_msg(msg: Msg) -> None:
        pending.append(msg)
        arrived.set()
        if len(pending) >= batch:  # hold the subscription back; the server's flow control does the rest
            room.clear()
            await room.wait()

    try:
        sub = await js.subscribe(filters[0], stream=stream, cb=on_msg, ordered_consumer=True, config=config)
    except NatsError as exc:
        raise ReadFailed(f"reading {stream}: {exc}") from exc
    try:
        consumer = await sub.consumer_info()
        if not pending and not consumer.num_pending and not (consumer.delivered and consumer.delivered.consumer_seq):
            return  # nothing matches (any more)
        while True:
            if not pending:
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), timeout=idle_s)
                except TimeoutError:
                    if not (await sub.consumer_info()).num_pending:
                        return  # the rest was removed (age or size limits) while we read
                    raise ReadFailed(f"reading {stream}: nothing came for {idle_s:.0f} s") from None
                continue
            taken = pending[:]
            del pending[:]
            room.set()
            out = [_stored(stream, msg) for msg in taken]
            tail = out[-1]
            if tail.seq >= last or tail.pending == 0:
                yield [s for s in out if s.seq <= last]
                return
            yield out
    finally:
        room.set()
        name = None
        with contextlib.suppress(NatsError, OSError):
            name = (await sub.consumer_info()).name
        with contextlib.suppress(NatsError, OSError):
            await sub.unsubscribe()
        if name is not None:  # the server would remove it once nobody listens; do not leave it to linger
            try:
                await js.delete_consumer(stream, name)
            except Exception as exc:  # noqa: BLE001 - gone already, or the server removes it soon anyway
                log.debug("the reading consumer %s on %s is left to expire: %s", name, stream, exc)


def _stored(stream: str, msg: Msg) -> Stored:
    seq, nanos, pending = position((msg.reply or "").encode())
    return Stored(stream, seq, msg.subject, msg.data or b"", msg.headers or {}, nanos, pending)


def position(reply: bytes) -> tuple[int, int, int]:
    """Stream sequence, stored time (ns) and messages pending, from a JetStream reply subject:
    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`, or with a domain and an account hash
    after `$JS.ACK` (12 tokens; 11 from older servers). The time stays exact, unlike a float's."""
    tokens = reply.split(b".")
    at = 2 if len(tokens) == 9 else 4
    return int(tokens[at + 3]), int(tokens[at + 5]), int(tokens[at + 6])


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


def _rfc3339(at: datetime) -> str:
    """The form the server's consumer config takes (UTC, `Z`)."""
    if at.tzinfo is None:
        raise ValueError("start_time must carry a timezone")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
