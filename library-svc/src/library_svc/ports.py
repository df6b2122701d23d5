"""What the use cases need from the outside world."""

from __future__ import annotations

from typing import Protocol

from contracts.base import Message

__all__ = ["OwnedIndex", "Publisher", "ScanTrigger"]


class Publisher(Protocol):
    async def __call__(self, event: Message) -> object: ...


class OwnedIndex(Protocol):
    """The `library_owned` KV bucket: recording MBID → track id and path."""

    async def put(self, recording_mbid: str, track_id: str, path: str) -> None: ...

    async def delete(self, recording_mbid: str) -> None: ...


class ScanTrigger(Protocol):
    """A media server to rescan after imports (Navidrome); `poke` is cheap and debounced by the implementation."""

    def poke(self) -> None: ...
