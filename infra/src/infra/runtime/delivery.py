"""One delivery of a durable consumer: decode, handle, then ack, redeliver with back-off, or dead-letter.

FastStream's own reject-on-error would silently drop a message on a MusicBrainz 503; here the rules are explicit:
- a handler that returns → ack;
- a handler that raises → NAK with the spec's back-off, so JetStream redelivers;
- a handler that raises `Defer` → NAK with the delay it names: not a fault (a source that is only rate-limited), so no
  failure is counted, and no worker is held while the message waits (the delivery still counts toward `max_deliver`);
- the last allowed attempt raises, or an earlier final attempt never acked → dead-letter stream, then ack;
- bytes that do not decode into the subject's contract → dead-letter at once (retrying cannot help).

While a handler works, the server is told every quarter of `ack_wait` that the work goes on, so a long download is
not redelivered, while a message a crashed process held comes back after `ack_wait` alone (10 s by default, so work
a killed process held resumes within seconds; a process fetches only what it starts at once, see `puller`). An
attempt that works longer than the spec's `work_limit_s` is cancelled and counts as failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from pydantic import ValidationError

from contracts.base import Message
from contracts.catalog import CATALOG
from contracts.deadletter import DeadLetterHeader, DeadLetterReason, dead_letter_subject
from contracts.topology import ConsumerSpec

from ..http import ExternalError
from ..logs import correlation
from ..metrics import EVENT_SECONDS, EVENTS_FAILED, EVENTS_HANDLED
from .facts import FactPublisher, attempt_failed, dead_lettered, tell

__all__ = ["Defer", "Delivery", "Handler", "Outcome", "Publisher", "UpstreamFault", "dispatch"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What a handler may want to know about the delivery it is handling."""

    subject: str
    stream_sequence: int
    attempt: int
    max_attempts: int
    _msg: Msg

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    async def in_progress(self) -> None:
        """Tell the server the work goes on, so a long download is not redelivered on `ack_wait`."""
        await self._msg.in_progress()


Handler = Callable[[Any, Delivery], Awaitable[None]]


class Defer(Exception):
    """Raised by a handler that cannot finish yet for a reason that is not a fault: the message comes back after
    `delay_s`, and the worker is free meanwhile. Raise it only while `Delivery.is_last_attempt` is false."""

    def __init__(self, delay_s: float, reason: str) -> None:
        super().__init__(f"deferred {delay_s:.1f}s: {reason}")
        self.delay_s = max(0.0, delay_s)
        self.reason = reason


class Publisher(Protocol):
    async def __call__(self, subject: str, payload: bytes, headers: dict[str, str]) -> Any:
        """Publish raw bytes to JetStream; may return the PubAck (its `seq` names the dead letter)."""
        ...


class Outcome:
    ACKED = "acked"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"
    DEFERRED = "deferred"


async def dispatch(
    spec: ConsumerSpec, msg: Msg, handler: Handler, publish_raw: Publisher, facts: FactPublisher | None = None
) -> str:
    """Handle one delivery. With `facts`, failed attempts and dead letters are also published as DELIVERY events
    (never for DELIVERY's own messages, so a failing reader of them cannot feed itself)."""
    meta = msg.metadata
    facts = facts if meta.stream != _DELIVERY_STREAM else None
    attempt = meta.num_delivered
    seq = meta.sequence.stream
    subject = msg.subject
    cls = CATALOG.get(subject)
    if cls is None:
        await _dead_letter(
            spec, msg, DeadLetterReason.UNKNOWN_SUBJECT, f"no contract for {subject}", publish_raw, facts=facts
        )
        return Outcome.DEAD_LETTERED
    try:
        event: Message = cls.model_validate_json(msg.data)
    except ValidationError as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:5])
        # a body that is JSON with a correlation_id still names its track, so the log line is found by it
        with correlation(_raw_correlation(msg.data)):
            await _dead_letter(spec, msg, DeadLetterReason.UNDECODABLE, detail, publish_raw, facts=facts)
        return Outcome.DEAD_LETTERED
    with correlation(event.correlation_id):
        if attempt > spec.max_deliver:
            await _dead_letter(
                spec,
                msg,
                DeadLetterReason.LOST_FINAL_ATTEMPT,
                f"attempt {spec.max_deliver} never acked (crash or ack_wait {spec.ack_wait_s:.0f}s exceeded)",
                publish_raw,
                facts=facts,
                event=event,
            )
            return Outcome.DEAD_LETTERED
        delivery = Delivery(subject, seq, attempt, spec.max_deliver, msg)
        started = time.perf_counter()
        try:
            await _keep_alive(spec, msg, handler(event, delivery))
        except Defer as defer:
            if attempt < spec.max_deliver:
                log.info("%s #%d attempt %d/%d %s", subject, seq, attempt, spec.max_deliver, defer)
                EVENTS_FAILED.labels(spec.service, spec.durable, subject, "deferred").inc()
                await msg.nak(delay=defer.delay_s)
                return Outcome.DEFERRED
            log.warning("%s #%d still deferred on its last attempt; dead-lettering: %s", subject, seq, defer)
            await _dead_letter(
                spec, msg, DeadLetterReason.EXHAUSTED, _describe(defer), publish_raw, facts=facts, event=event
            )
            return Outcome.DEAD_LETTERED
        except Exception as exc:
            EVENT_SECONDS.labels(spec.service, spec.durable, subject).observe(time.perf_counter() - started)
            expected = _is_expected(exc)  # an upstream that failed is a line with its reason; a bug, a traceback
            if attempt >= spec.max_deliver:
                log.error(
                    "%s #%d failed on its last attempt %d; dead-lettering: %s",
                    subject,
                    seq,
                    attempt,
                    _describe(exc),
                    exc_info=not expected,
                )
                await _dead_letter(
                    spec,
                    msg,
                    DeadLetterReason.EXHAUSTED,
                    _describe(exc),
                    publish_raw,
                    facts=facts,
                    event=event,
                    exc=exc,
                )
                return Outcome.DEAD_LETTERED
            delay = spec.backoff_s[min(attempt - 1, len(spec.backoff_s) - 1)] if spec.backoff_s else 0.0
            log.warning(
                "%s #%d attempt %d/%d failed, retry in %.1fs: %s",
                subject,
                seq,
                attempt,
                spec.max_deliver,
                delay,
                _describe(exc),
                exc_info=not expected,
                # many messages failing for one reason (MusicBrainz down) are one failure, summarised
                extra={"repeat_key": _repeat_key(spec, exc)},
            )
            EVENTS_FAILED.labels(spec.service, spec.durable, subject, "error").inc()
            await tell(facts, attempt_failed(spec, msg, event, attempt, delay, exc))
            await msg.nak(delay=delay)
            return Outcome.RETRY
        EVENT_SECONDS.labels(spec.service, spec.durable, subject).observe(time.perf_counter() - started)
        await msg.ack_sync()
        EVENTS_HANDLED.labels(spec.service, spec.durable, subject).inc()
        return Outcome.ACKED


async def _keep_alive(spec: ConsumerSpec, msg: Msg, work: Awaitable[None]) -> None:
    """Await the handler within `work_limit_s`, sending an in-progress signal every `ack_wait_s / 4` meanwhile.

    A quarter, not a half: an event loop busy for a few seconds (a big tag write) must not let the message go."""
    loop = asyncio.get_running_loop()
    period = spec.ack_wait_s / 4
    signals: set[asyncio.Task[None]] = set()
    timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal timer
        task = loop.create_task(_signal_in_progress(msg))
        signals.add(task)
        task.add_done_callback(signals.discard)
        timer = loop.call_later(period, tick)

    timer = loop.call_later(period, tick)
    limit = asyncio.timeout(spec.work_limit_s)
    try:
        async with limit:
            await work
    except TimeoutError as exc:
        if limit.expired():
            raise TimeoutError(f"the attempt worked longer than its limit of {spec.work_limit_s:.0f}s") from exc
        raise
    finally:
        timer.cancel()


async def _signal_in_progress(msg: Msg) -> None:
    try:
        await msg.in_progress()
    except (NatsError, OSError) as exc:  # the connection may be gone; the ack or a redelivery settles it anyway
        log.warning("in-progress signal for %s failed: %s", msg.subject, _describe(exc))


_DELIVERY_STREAM = "DELIVERY"


class UpstreamFault(Exception):
    """Raised by a handler when the outside world failed it (every source down): retried, logged as one line."""


_EXPECTED_FAULTS: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError, ExternalError, UpstreamFault)


def _is_expected(exc: BaseException) -> bool:
    """A fault of the outside world, reported as such: an upstream down, slow or refusing. Anything else is a bug."""
    return isinstance(exc, _EXPECTED_FAULTS)


def _repeat_key(spec: ConsumerSpec, exc: BaseException) -> str:
    """One failure, whichever message met it: an upstream's reason without the path (it names the track)."""
    if isinstance(exc, ExternalError):
        return f"{spec.durable}: {exc.service} {exc.status} {exc.reason}"
    return f"{spec.durable}: {_describe(exc)}"


def _raw_correlation(data: bytes) -> str | None:
    try:
        body = json.loads(data)
    except ValueError:
        return None
    value = body.get("correlation_id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


async def _dead_letter(
    spec: ConsumerSpec,
    msg: Msg,
    reason: DeadLetterReason,
    detail: str,
    publish_raw: Publisher,
    *,
    facts: FactPublisher | None = None,
    event: Message | None = None,
    exc: BaseException | None = None,
) -> None:
    meta = msg.metadata
    h = DeadLetterHeader
    headers = {
        # one dead letter per stream message and consumer, even if dead-lettering itself is retried
        "Nats-Msg-Id": f"dl:{meta.stream}:{meta.sequence.stream}:{spec.durable}",
        h.REASON: reason.value,
        h.DETAIL: detail.replace("\n", " ")[:1000],
        h.SUBJECT: msg.subject,
        h.STREAM: meta.stream,
        h.SEQUENCE: str(meta.sequence.stream),
        h.CONSUMER: spec.durable,
        h.DELIVERIES: str(meta.num_delivered),
        h.FAILED_AT: datetime.now(UTC).isoformat(),
    }
    for key, value in (msg.headers or {}).items():
        if key != "Nats-Msg-Id" and key not in headers:
            headers[key] = value
    if msg.headers and "Nats-Msg-Id" in msg.headers:
        headers["Brainstream-DL-Original-Msg-Id"] = msg.headers["Nats-Msg-Id"]
    ack = await publish_raw(dead_letter_subject(msg.subject), msg.data, headers)
    letter_id = getattr(ack, "seq", None)
    await tell(
        facts, dead_lettered(spec, msg, event, reason, detail, exc, letter_id if isinstance(letter_id, int) else None)
    )
    EVENTS_FAILED.labels(spec.service, spec.durable, msg.subject, reason.value).inc()
    log.error(
        "dead-lettered %s #%d after %d deliveries: %s (%s)",
        msg.subject,
        meta.sequence.stream,
        meta.num_delivered,
        reason.value,
        detail,
    )
    await msg.ack_sync()
