"""What the use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from contracts.base import Message

from .domain.model import AudioProps, TrackInfo
from .domain.usermarks import UserState

__all__ = [
    "Catalog",
    "CatalogReads",
    "LibraryFiles",
    "OverBudget",
    "OwnedIndex",
    "OwnedTrack",
    "PathEscapes",
    "Publisher",
    "ScanTrigger",
]


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


class OverBudget(Exception):
    """A read tried on the event loop ran past its time budget and was interrupted (nothing was returned)."""


class CatalogReads(Protocol):
    """The catalog as the Subsonic API reads it. Rows are the catalog's own rows (read by attribute name)."""

    inline: bool
    """Whether a bounded read is cheaper on the event loop than in a worker thread (SQLite: yes)."""

    def with_connection(self, budget: int | None = None) -> AbstractContextManager[None]:
        """Several reads of one request on one connection; with a `budget`, raise `OverBudget` past it."""
        ...

    def user_state(self, user: str, item_ids: Sequence[str]) -> UserState: ...

    def track(self, track_id: str) -> Any | None: ...

    def tracks(self, track_ids: Sequence[str]) -> list[Any]: ...

    def album(self, album_id: str) -> Any | None: ...

    def album_with_tracks(self, album_id: str) -> list[Any]: ...

    def artist(self, artist_id: str) -> Any | None: ...

    def artist_albums(self, artist_id: str) -> list[Any]: ...

    def artists(self) -> list[Any]: ...

    def genres(self) -> list[Any]: ...

    def album_list(self, user: str, kind: str, size: int, offset: int, **opts: Any) -> list[Any]: ...

    def random_songs(self, size: int, genre: str | None, from_year: int | None, to_year: int | None) -> list[Any]: ...

    def songs_by_genre(self, genre: str, count: int, offset: int) -> list[Any]: ...

    def starred(self, user: str) -> tuple[list[Any], list[Any], list[Any]]: ...

    def marks_ready(self, counts: tuple[int, int, int]) -> bool: ...

    def search_flat(
        self, words: list[str], counts: tuple[int, int, int], offsets: tuple[int, int, int]
    ) -> tuple[list[Any], list[Any], list[Any]]: ...

    def track_by_artist_title(self, artist: str, title: str) -> Any | None: ...
