"""What the resolution use case needs from the outside, one small Protocol per capability."""

from __future__ import annotations

from typing import Any, Protocol

from .domain.model import CommercialHit, Query, Recording

__all__ = ["AlbumMemory", "AlbumSearch", "Cache", "CoverArchive", "ImageCheck", "MetadataBatch", "RecordingSource"]


class MetadataBatch(Protocol):
    """ListenBrainz batch metadata: None when it does not know the MBID well enough."""

    async def recording(self, mbid: str) -> Recording | None: ...


class RecordingSource(Protocol):
    """MusicBrainz: lookup (None = not found), ISRC and text search."""

    async def lookup(self, mbid: str) -> Recording | None: ...

    async def by_isrc(self, isrc: str) -> list[Recording]: ...

    async def search(self, query: Query) -> list[Recording]: ...


class AlbumSearch(Protocol):
    """A commercial album source; raises BudgetExhausted or SourceUnavailable to be skipped."""

    name: str

    async def search(self, rec: Recording) -> list[CommercialHit]: ...


class CoverArchive(Protocol):
    async def front(self, entity: str, mbid: str) -> tuple[str, int | None] | None: ...


class ImageCheck(Protocol):
    async def is_image(self, url: str) -> bool: ...


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...

    async def put(self, key: str, value: Any) -> None: ...


class AlbumMemory(Protocol):
    """The album each release group got: `claim` stores one unless there is one, and returns the one that holds."""

    async def get(self, release_group_mbid: str) -> dict[str, Any] | None: ...

    async def claim(self, release_group_mbid: str, album: dict[str, Any]) -> dict[str, Any]: ...
