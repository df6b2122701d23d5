"""Subscribers of acquire-svc: decode → service call. Publishing happens in the use case, step by step.

No in-progress signals here: the runtime sends one every quarter of ack_wait while a handler works
(`infra.runtime.delivery`), so a long download is never redelivered on ack_wait."""

from __future__ import annotations

from contracts.gateway import RequestTrack
from contracts.resolve import TrackResolved
from infra.runtime import Delivery
from infra.runtime.delivery import Handler

from .service import AcquireService
from .urlinspect import UrlInspector

__all__ = ["on_resolved", "on_url_request"]


def on_resolved(service: AcquireService) -> Handler:
    async def handle(event: TrackResolved, delivery: Delivery) -> None:
        await service.handle(event, last_try=delivery.is_last_attempt)

    return handle


def on_url_request(inspector: UrlInspector) -> Handler:
    async def handle(event: RequestTrack, delivery: Delivery) -> None:
        await inspector.handle(event)

    return handle
