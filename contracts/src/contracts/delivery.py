"""Facts about deliveries, published by the runtime every service runs in, on the DELIVERY stream.

A handler that raises is retried, and after its last attempt the message is dead-lettered (see
`infra/runtime/delivery.py`). Those facts used to live only in logs and in the DEADLETTER stream's headers; as events
they reach every read model, so a journey shows "retrying" with its attempt and reason, and "failed" once its
message is dead-lettered. Each carries the correlation id, causation (the message's event id) and user of the
message it is about, so it belongs to that message's journey.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from .base import Event
from .deadletter import DeadLetterReason

__all__ = ["AttemptFailed", "DeadLetterRedriven", "MessageDeadLettered"]


class _Delivery(Event):
    stream: ClassVar[str] = "DELIVERY"


class AttemptFailed(_Delivery):
    """One attempt at handling a message failed; the message comes back at `retry_at`."""

    subject: ClassVar[str] = "delivery.attempt.failed"

    service: str = Field(description="The service whose handler failed, e.g. 'resolve-svc'.")
    consumer: str = Field(description="Its durable consumer.")
    message_subject: str
    message_stream: str
    message_seq: int = Field(ge=0)
    attempt: int = Field(ge=1)
    max_attempts: int = Field(ge=1)
    retry_at: datetime = Field(description="When the message is delivered again (UTC).")
    error: str = Field(description="What went wrong, in words: 'MusicBrainz unreachable: connection refused'.")
    upstream: str | None = Field(default=None, description="The external service at fault, when one is.")


class MessageDeadLettered(_Delivery):
    """A message was put on the dead-letter stream: its attempts ran out, or it could not be read at all."""

    subject: ClassVar[str] = "delivery.message.deadlettered"

    service: str
    consumer: str
    message_subject: str
    message_stream: str
    message_seq: int = Field(ge=0)
    deliveries: int = Field(ge=0)
    reason: DeadLetterReason
    error: str = Field(description="The last error, in words.")
    upstream: str | None = None
    letter_id: int | None = Field(default=None, description="Sequence of the letter in DEADLETTER.")


class DeadLetterRedriven(_Delivery):
    """Dead letters were put back on their original subject (`brainstream dlq redrive`, or Retry in the web UI)."""

    subject: ClassVar[str] = "delivery.letter.redriven"

    letter_ids: list[int]
    message_subject: str
