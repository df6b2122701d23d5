"""Protocols for everything acquire-svc talks to, and the small value types that cross them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from contracts.acquire import RejectionReason
from contracts.base import Message
from contracts.common import CoverRef

from .domain.gate import Decision, GateEntry, GateState
from .domain.tagplan import CoreTags, Enrichment
from .domain.validation import AudioFacts

__all__ = [
    "EXTENSION",
    "AudioProbe",
    "Backend",
    "Candidate",
    "CandidateRefused",
    "CoverFetcher",
    "Gate",
    "NegativeCache",
    "OwnedIndex",
    "Probed",
    "Progress",
    "Publish",
    "StagingArea",
    "TagCheckFailed",
    "TagWriter",
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


EXTENSION = {"mp3": ".mp3", "flac": ".flac", "ogg": ".ogg", "opus": ".opus", "m4a": ".m4a"}
"""The file suffix a staged file of each container format gets."""


class Probed:
    """A probe result: the facts for validation and the container format for tagging (None when unsupported)."""

    def __init__(self, facts: AudioFacts, fmt: str | None) -> None:
        self.facts = facts
        self.fmt = fmt


AudioProbe = Callable[[Path], Probed | None]
"""Reads a downloaded file's audio facts; None when it is not audio that can be read."""


class StagingArea(Protocol):
    """Where downloads wait to be tagged: one file per recording, entered by a rename from a private work folder."""

    def find(self, recording_mbid: object) -> Path | None: ...

    def accept(self, recording_mbid: object, file: Path, suffix: str) -> Path: ...

    def work(self, recording_mbid: object) -> AbstractContextManager[Path]: ...


class TagCheckFailed(RuntimeError):
    """What was read back is not what was written."""


class TagWriter(Protocol):
    """The two tagging stages on a staged file, each with its read-back check (raises `TagCheckFailed`)."""

    def stage1_done(self, path: Path, fmt: str, plan: CoreTags) -> bool: ...

    def stage1(self, path: Path, fmt: str, plan: CoreTags) -> None: ...

    def stage2_done(self, path: Path, fmt: str, genres: list[str], want_cover: bool) -> bool: ...

    def stage2(self, path: Path, fmt: str, plan: CoreTags, enrichment: Enrichment) -> None: ...
