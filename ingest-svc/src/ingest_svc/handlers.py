"""Subscribers of ingest-svc: decode → service call → publish."""

from __future__ import annotations

from contracts.base import Message
from infra.runtime import Delivery

__all__ = ["NotHandledYet", "not_handled_yet"]


class NotHandledYet(RuntimeError):
    """The consumer is bound but its use case is not built yet: dead-letter the message so it can be re-driven."""


async def not_handled_yet(event: Message, delivery: Delivery) -> None:
    raise NotHandledYet(f"ingest-svc does not handle {event.subject} yet; re-drive it once it does")
