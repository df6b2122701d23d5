"""How a message lands in the dead-letter stream.

The original bytes are kept as the message body (they may not even be JSON); what happened is carried in headers,
so `brainstream dlq redrive` can put the exact message back on its subject.
"""

from __future__ import annotations

from enum import StrEnum

from .base import Model

__all__ = ["DeadLetter", "DeadLetterHeader", "DeadLetterReason", "dead_letter_subject"]


class DeadLetterReason(StrEnum):
    UNDECODABLE = "undecodable"
    """Not valid JSON or not valid for the subject's contract: retrying cannot help."""
    UNKNOWN_SUBJECT = "unknown_subject"
    EXHAUSTED = "exhausted"
    """The handler failed on every allowed attempt."""
    LOST_FINAL_ATTEMPT = "lost_final_attempt"
    """The last allowed attempt never acked (crash or ack timeout)."""


class DeadLetterHeader:
    REASON = "Brainstream-DL-Reason"
    DETAIL = "Brainstream-DL-Detail"
    SUBJECT = "Brainstream-DL-Subject"
    STREAM = "Brainstream-DL-Stream"
    SEQUENCE = "Brainstream-DL-Sequence"
    CONSUMER = "Brainstream-DL-Consumer"
    DELIVERIES = "Brainstream-DL-Deliveries"
    FAILED_AT = "Brainstream-DL-Failed-At"


def dead_letter_subject(original_subject: str) -> str:
    return f"deadletter.{original_subject}"


class DeadLetter(Model):
    """A dead letter as read back from its headers."""

    reason: DeadLetterReason
    detail: str
    subject: str
    stream: str
    sequence: int
    consumer: str
    deliveries: int
    failed_at: str

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> DeadLetter:
        h = DeadLetterHeader
        return cls(
            reason=DeadLetterReason(headers[h.REASON]),
            detail=headers.get(h.DETAIL, ""),
            subject=headers[h.SUBJECT],
            stream=headers.get(h.STREAM, ""),
            sequence=int(headers.get(h.SEQUENCE, "0")),
            consumer=headers.get(h.CONSUMER, ""),
            deliveries=int(headers.get(h.DELIVERIES, "0")),
            failed_at=headers.get(h.FAILED_AT, ""),
        )
