"""Retries and dead letters as events on the DELIVERY stream, so read models show them on their journeys.

Publishing a fact never decides the delivery: a failed publish is logged and the message is acked, NAKed or
dead-lettered as it would be without it. Each fact's event id is derived from the message and attempt, so a fact
published again after a crash is stored once.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.msg import Msg
from nats.errors import Error as NatsError

from contracts.base import Message
from contracts.deadletter import DeadLetterReason
from contracts.delivery import AttemptFailed, MessageDeadLettered
from contracts.topology import ConsumerSpec

from ..upstreams import describe_failure

__all__ = ["FactPublisher", "attempt_failed", "dead_lettered", "tell"]

log = logging.getLogger(__name__)

FactPublisher = Callable[[Message], Awaitable[Any]]
_FACTS = uuid.UUID("6f1c3b52-4c1e-4f57-9a55-2d0f3c1a8e01")


def _envelope(msg: Msg, event: Message | None) -> dict[str, Any]:
    """The journey a fact belongs to: the message's own, or what its raw JSON says when it did not decode."""
    if event is not None:
        return {"correlation_id": event.correlation_id, "causation_id": event.event_id, "user": event.user}
    out: dict[str, Any] = {}
    try:
        body = json.loads(msg.data)
    except ValueError:
        return out
    if isinstance(body, dict):
        for key in ("correlation_id", "event_id"):
            try:
                out["causation_id" if key == "event_id" else key] = uuid.UUID(str(body.get(key)))
            except ValueError:
                continue
        if isinstance(body.get("user"), str):
            out["user"] = body["user"]
    return out


def attempt_failed(
    spec: ConsumerSpec, msg: Msg, event: Message, attempt: int, delay_s: float, exc: BaseException
) -> AttemptFailed:
    meta = msg.metadata
    failure = describe_failure(exc)
    return AttemptFailed(
        event_id=uuid.uuid5(_FACTS, f"attempt:{meta.stream}:{meta.sequence.stream}:{spec.durable}:{attempt}"),
        **_envelope(msg, event),
        service=spec.service,
        consumer=spec.durable,
        message_subject=msg.subject,
        message_stream=meta.stream,
        message_seq=meta.sequence.stream,
        attempt=attempt,
        max_attempts=spec.max_deliver,
        retry_at=datetime.now(UTC) + timedelta(seconds=delay_s),
        error=failure.text,
        upstream=failure.upstream,
    )


def dead_lettered(
    spec: ConsumerSpec,
    msg: Msg,
    event: Message | None,
    reason: DeadLetterReason,
    detail: str,
    exc: BaseException | None,
    letter_id: int | None,
) -> MessageDeadLettered:
    meta = msg.metadata
    failure = describe_failure(exc) if exc is not None else None
    return MessageDeadLettered(
        event_id=uuid.uuid5(_FACTS, f"dead:{meta.stream}:{meta.sequence.stream}:{spec.durable}"),
        **_envelope(msg, event),
        service=spec.service,
        consumer=spec.durable,
        message_subject=msg.subject,
        message_stream=meta.stream,
        message_seq=meta.sequence.stream,
        deliveries=meta.num_delivered,
        reason=reason,
        error=failure.text if failure else detail[:500],
        upstream=failure.upstream if failure else None,
        letter_id=letter_id,
    )


async def tell(publish: FactPublisher | None, fact: Message) -> None:
    if publish is None:
        return
    try:
        await publish(fact)
    except (NatsError, OSError, TimeoutError) as exc:  # the delivery goes on; the log still has what happened
        log.warning("could not publish %s for %s: %s", fact.subject, fact.correlation_id, exc)
