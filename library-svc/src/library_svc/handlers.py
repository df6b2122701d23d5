"""Subscribers of library-svc: decode → use case → publish (the use cases publish their own outcomes)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.acquire import TrackTagged
from contracts.base import Message
from contracts.discovery import (
    FeedbackReceived,
    HateDiscovery,
    KeepDiscovery,
    OwnedTrackRecommended,
    RestoreDiscovery,
)
from contracts.gateway import RemoveTrack, StartScan
from contracts.ingest import ListenRecorded
from contracts.library import TrackImported
from contracts.resolve import ListenMatched
from infra.runtime import Delivery

from .discovery.service import Discoveries
from .scanning import Scanner
from .service import Library

__all__ = ["DiscoveryHandlers", "Handlers", "UnexpectedCommand"]


class UnexpectedCommand(TypeError):
    """A message on library_commands that is neither RemoveTrack nor StartScan: dead-letter it."""


@dataclass
class Handlers:
    library: Library
    scanner: Scanner
    discoveries: Discoveries | None = None

    async def tagged(self, event: TrackTagged, delivery: Delivery) -> None:
        outcome = await self.library.import_tagged(event, delivery.stream_sequence)
        if isinstance(outcome, TrackImported) and self.discoveries is not None:
            await self.discoveries.imported(outcome)

    async def command(self, event: Message, delivery: Delivery) -> None:
        if isinstance(event, RemoveTrack):
            await self.library.remove_track(event)
            if self.discoveries is not None:
                await self.discoveries.removed(event.track_id, event)
        elif isinstance(event, StartScan):
            await self.scanner.scan(full=event.full, cause=event)
        else:
            raise UnexpectedCommand(f"library_commands cannot handle {event.subject}")


@dataclass
class DiscoveryHandlers:
    discoveries: Discoveries

    async def plays(self, event: Message, delivery: Delivery) -> None:
        if isinstance(event, ListenRecorded):
            await self.discoveries.listened(event)
        elif isinstance(event, FeedbackReceived):
            await self.discoveries.feedback(event)
        elif isinstance(event, OwnedTrackRecommended):
            await self.discoveries.recommended_again(event)
        else:
            raise UnexpectedCommand(f"library_discovery_plays cannot handle {event.subject}")

    async def matches(self, event: ListenMatched, delivery: Delivery) -> None:
        await self.discoveries.matched(event)

    async def commands(self, event: Message, delivery: Delivery) -> None:
        if not isinstance(event, KeepDiscovery | HateDiscovery | RestoreDiscovery):
            raise UnexpectedCommand(f"library_discovery_commands cannot handle {event.subject}")
        await self.discoveries.command(event)
