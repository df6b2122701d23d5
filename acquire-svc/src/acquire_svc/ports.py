"""Protocols for everything acquire-svc talks to, and the small value types that cross them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from contracts.acquire import RejectionReason
from contracts.base import Message
from contracts.common import CoverRef

from .domain.gate import Decision, GateEntry, GateState

__all__ = [
    "Backend",
    "Candidate",
    "CandidateRefused",
    "CoverFetcher",
    "Gate",
    "NegativeCache",
    "OwnedIndex",
    "Progress",
    "Publish",
    "Wanted",
]

Progress = Callable[[int], Awaitable[None]]
"""Called by a backend with the bytes fetched so far; keeps the message alive and hosts the test pause."""
Publish = Callable[[Message], Awaitable[Any]]


@dataclass(frozen=True)
class Wanted:
    """The track a backend is asked for, in the terms backends search with."""

    recording_mbid: UUID
    title: str
    artist: str
    artists: list[str]
    album: str
    duration_s: float | None
    source_url: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One file a backend could fetch. `candidate_id` is stable, so the negative cache can remember it."""

    backend: str
    candidate_id: str
    title: str
    duration_s: float | None = None
    size_bytes: int | None = None
    ref: Any = field(default=None, compare=False)
    """Whatever the backend needs to fetch it (a URL, a path, a peer and file name)."""


class CandidateRefused(Exception):
    """The candidate itself is the problem (too large, gone, not audio): reject it and try the next one."""

    def __init__(self, reason: RejectionReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Backend(Protocol):
    name: str

    async def search(self, want: Wanted) -> list[Candidate]:
        """Candidates, best first; [] when there is none. Faults (timeouts, 5xx, 429) raise."""
        ...

    async def fetch(self, candidate: Candidate, work: Path, progress: Progress) -> Path:
        """Download into `work` and return the file. Raises `CandidateRefused` for a bad candidate."""
        ...

    async def taken(self, candidate: Candidate) -> None:
        """The candidate passed validation and is in staging (the inbox deletes its copy)."""
        ...


class Gate(Protocol):
    async def enter(
        self, recording_mbid: UUID, event_id: UUID, correlation_id: UUID, *, manual: bool, staged: bool = False
    ) -> tuple[Decision, GateEntry]: ...

    async def mark(self, recording_mbid: UUID, state: GateState, detail: str = "") -> None: ...

    async def get(self, recording_mbid: UUID) -> GateEntry | None: ...


class NegativeCache(Protocol):
    async def contains(self, backend: str, candidate_id: str) -> bool: ...

    async def add(
        self, backend: str, candidate_id: str, recording_mbid: UUID, reason: RejectionReason, detail: str
    ) -> None: ...


class OwnedIndex(Protocol):
    async def owns(self, recording_mbid: UUID) -> bool: ...


class CoverFetcher(Protocol):
    async def fetch(self, cover: CoverRef) -> tuple[bytes, str] | None:
        """(image bytes, MIME type), or None when the image is gone (an answer). Faults raise."""
        ...
