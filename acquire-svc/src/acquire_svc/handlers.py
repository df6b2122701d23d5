"""Subscribers of acquire-svc: decode → service call. Publishing happens in the use case, step by step."""

from __future__ import annotations

import time

from contracts.gateway import RequestTrack
from contracts.resolve import TrackResolved
from infra.runtime import Delivery
from infra.runtime.delivery import Handler

from .service import AcquireService
from .urlinspect import UrlInspector

__all__ = ["HEARTBEAT_S", "on_resolved", "on_url_request"]

HEARTBEAT_S = 5.0
"""At most one in-progress signal per this many seconds, so a long download is not redelivered on ack_wait."""


def on_resolved(service: AcquireService) -> Handler:
    async def handle(event: TrackResolved, delivery: Delivery) -> None:
        last = time.monotonic()

        async def heartbeat() -> None:
            nonlocal last
            if time.monotonic() - last >= HEARTBEAT_S:
                last = time.monotonic()
                await delivery.in_progress()

        await service.handle(event, heartbeat, last_try=delivery.is_last_attempt)

    return handle


def on_url_request(inspector: UrlInspector) -> Handler:
    async def handle(event: RequestTrack, delivery: Delivery) -> None:
        last = time.monotonic()

        async def heartbeat(_: int) -> None:
            nonlocal last
            if time.monotonic() - last >= HEARTBEAT_S:
                last = time.monotonic()
                await delivery.in_progress()

        await inspector.handle(event, heartbeat)

    return handle
