"""Subscribers of library-svc: decode → use case → publish (the use cases publish their own outcomes)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.acquire import TrackTagged
from contracts.base import Message
from contracts.gateway import RemoveTrack, StartScan
from infra.runtime import Delivery

from .scanning import Scanner
from .service import Library

__all__ = ["Handlers", "UnexpectedCommand"]


class UnexpectedCommand(TypeError):
    """A message on library_commands that is neither RemoveTrack nor StartScan: dead-letter it."""


@dataclass
class Handlers:
    library: Library
    scanner: Scanner

    async def tagged(self, event: TrackTagged, delivery: Delivery) -> None:
        await self.library.import_tagged(event, delivery.stream_sequence)

    async def command(self, event: Message, delivery: Delivery) -> None:
        if isinstance(event, RemoveTrack):
            await self.library.remove_track(event)
        elif isinstance(event, StartScan):
            await self.scanner.scan(full=event.full, cause=event)
        else:
            raise UnexpectedCommand(f"library_commands cannot handle {event.subject}")
