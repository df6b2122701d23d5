"""Protocol fakes for library-svc tests: a publisher that records, an in-memory owned index."""

from __future__ import annotations

from typing import Any

from contracts.base import Message


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[Message] = []

    async def __call__(self, event: Message) -> object:
        self.events.append(event)
        return None

    def of(self, cls: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]


class MemoryOwned:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}

    async def put(self, recording_mbid: str, track_id: str, path: str) -> None:
        self.entries[recording_mbid] = (track_id, path)

    async def delete(self, recording_mbid: str) -> None:
        self.entries.pop(recording_mbid, None)


class CountingTrigger:
    def __init__(self) -> None:
        self.pokes = 0

    def poke(self) -> None:
        self.pokes += 1
