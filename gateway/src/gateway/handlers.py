"""Durable consumers of the read model: apply each event with its stream sequence, then tell the live feed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from contracts.base import Message
from contracts.library import TrackRemoved
from contracts.topology import consumers_of
from infra.runtime import Delivery, Handler

from . import SERVICE
from .adapters.kv import RequestGate
from .readmodel.feed import Broadcaster
from .readmodel.projection import Projection
from .readmodel.queries import View

__all__ = ["view_handlers"]


def view_handlers(
    projection: Projection,
    broadcaster: Broadcaster,
    view: View,
    gate: RequestGate,
    on_discovery: Callable[[frozenset[str]], None] | None = None,
) -> dict[str, Handler]:
    """One handler per `gateway_view_*` durable declared in the contracts; `on_discovery` is told whose discoveries
    an event changed (the Navidrome mirror)."""

    def make(stream: str) -> Handler:
        async def handle(event: Message, delivery: Delivery) -> None:
            item = await asyncio.to_thread(projection.apply, event, stream, delivery.stream_sequence)
            if isinstance(event, TrackRemoved) and item is not None and item.track_id:
                # out of the library: a new request for it is no longer a duplicate
                key = view.gate_key(item.track_id)
                if key:
                    await gate.release(key, item.track_id)
            if item is not None:
                broadcaster.publish(item)
                if item.discovery_users and on_discovery is not None:
                    on_discovery(item.discovery_users)

        return handle

    return {
        spec.durable: make(spec.stream) for spec in consumers_of(SERVICE) if spec.durable.startswith("gateway_view_")
    }
