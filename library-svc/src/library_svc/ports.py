"""What the use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from contracts.base import Message

from .domain.model import AudioProps, TrackInfo

__all__ = ["Catalog", "LibraryFiles", "OwnedIndex", "OwnedTrack", "PathEscapes", "Publisher", "ScanTrigger"]


class Publisher(Protocol):
    async def __call__(self, event: Message) -> object: ...


class OwnedIndex(Protocol):
    """The `library_owned` KV bucket: recording MBID → track id and path."""

    async def put(self, recording_mbid: str, track_id: str, path: str) -> None: ...

    async def delete(self, recording_mbid: str) -> None: ...


class ScanTrigger(Protocol):
    """A media server to rescan after imports (Navidrome); `poke` is cheap and debounced by the implementation."""

    def poke(self) -> None: ...


@dataclass(frozen=True)
class OwnedTrack:
    track_id: str
    path: str
    recording_mbid: str | None
    size: int


class Catalog(Protocol):
    """The catalog the imports write: tracks by recording, path and id, and each projection's stream position,
    written in the same transaction as the rows."""

    def by_recording(self, mbid: str) -> OwnedTrack | None: ...

    def by_path(self, path: str) -> OwnedTrack | None: ...

    def by_id(self, track_id: str) -> OwnedTrack | None: ...

    def position(self, name: str) -> int: ...

    def upsert(self, infos: Sequence[TrackInfo], *, projection: tuple[str, int] | None = None) -> list[str]: ...

    def remove(self, paths: Iterable[str], *, projection: tuple[str, int] | None = None) -> list[OwnedTrack]: ...


class PathEscapes(ValueError):
    """A relative path would resolve outside the library root (through `..` or a symlink)."""


class LibraryFiles(Protocol):
    """The library's files: where a relative path really is, a file's digest and audio facts, and the move in."""

    def inside(self, root: Path, relpath: str) -> Path:
        """`root/relpath`; raises `PathEscapes` if the real location is not under the real root."""
        ...

    def sha256(self, path: Path) -> str: ...

    def place(self, staging: Path, target: Path, *, force_copy: bool = False) -> str:
        """Move `staging` to `target` so no reader sees a partial file; "renamed" or "copied"."""
        ...

    def audio_props(self, path: Path) -> AudioProps: ...
