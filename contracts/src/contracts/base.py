"""The envelope every message on the bus shares.

Events are past-tense facts (`TrackResolved`); commands are imperative requests (`RequestTrack`). Both are frozen,
ignore unknown fields (so an older reader survives a newer writer) and carry their own subject.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["Command", "Event", "Message", "Model", "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Model(BaseModel):
    """A frozen value type used inside messages."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Message(Model):
    """Base of every event and command.

    `event_id` doubles as the `Nats-Msg-Id` header, so the server drops a re-publish of the same message.
    `correlation_id` is shared by every message of one track's journey; `causation_id` is the message that caused
    this one.
    """

    subject: ClassVar[str]
    stream: ClassVar[str]
    version: ClassVar[int] = 1

    event_id: UUID = Field(default_factory=uuid4, description="Unique id; also sent as the Nats-Msg-Id header.")
    occurred_at: datetime = Field(default_factory=utcnow, description="When it happened, in UTC.")
    correlation_id: UUID = Field(default_factory=uuid4, description="One per track journey, candidate to library.")
    causation_id: UUID | None = Field(default=None, description="event_id of the message that caused this one.")
    user: str | None = Field(default=None, description="The BrainStream user this concerns; None for system-wide.")

    @field_validator("occurred_at")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone")
        return value.astimezone(UTC)

    @classmethod
    def caused_by(cls, cause: Message, **fields: Any) -> Self:
        """Build a message that follows `cause` in the same journey (same correlation and user)."""
        fields.setdefault("user", cause.user)
        return cls(correlation_id=cause.correlation_id, causation_id=cause.event_id, **fields)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Self:
        return cls.model_validate_json(data)


class Event(Message):
    """A fact that happened. Class names are past tense."""


class Command(Message):
    """A request for something to happen. Class names are imperative."""
