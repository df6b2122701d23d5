"""Helpers of acquire-svc's tests: resolved tracks, in-memory fakes of the ports, a service wired with them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from acquire_svc.adapters.probe import probe
from acquire_svc.adapters.staging import Staging
from acquire_svc.adapters.tagger import Tagger
from acquire_svc.domain.gate import Decision, GateEntry, GateState, decide
from acquire_svc.domain.validation import Rules
from acquire_svc.ports import Backend, Candidate, CandidateRefused, Progress, Wanted
from acquire_svc.service import AcquireService, Options
from contracts.acquire import RejectionReason
from contracts.base import Message, utcnow
from contracts.common import (
    AlbumSource,
    ArtistCredit,
    CandidateSource,
    CoverRef,
    CoverSource,
    MatchExplanation,
    MatchMethod,
    TrackMetadata,
)
from contracts.resolve import TrackResolved

ALL_CODECS = frozenset({"mp3", "flac", "vorbis", "opus", "aac", "alac"})
# a 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def make_track(
    title: str = "Believer", artist: str = "Imagine Dragons", duration_ms: int | None = 3000, **kw: Any
) -> TrackMetadata:
    fields: dict[str, Any] = {
        "recording_mbid": uuid4(),
        "title": title,
        "artist": artist,
        "artist_credit": [ArtistCredit(name=artist, mbid=uuid4())],
        "album_artist": artist,
        "album": "Evolve",
        "album_source": AlbumSource.ITUNES,
        "release_group_mbid": uuid4(),
        "release_mbid": uuid4(),
        "album_artist_mbids": [uuid4()],
        "track_number": 3,
        "track_total": 11,
        "disc_number": 1,
        "disc_total": 1,
        "year": 2017,
        "original_date": "2017-02-01",
        "isrcs": ["USUM71700626"],
        "duration_ms": duration_ms,
        "genres": ["pop rock", "alternative"],
        "cover": None,
    }
    fields.update(kw)
    return TrackMetadata(**fields)


def make_resolved(
    track: TrackMetadata, origin: CandidateSource = CandidateSource.CF, source_url: str | None = None
) -> TrackResolved:
    return TrackResolved(
        track=track,
        origin=origin,
        explanation=MatchExplanation(method=MatchMethod.MBID, distance=0.0),
        source_url=source_url,
    )


def cover_ref(url: str) -> CoverRef:
    return CoverRef(url=url, source=CoverSource.ITUNES)


class MemoryGate:
    """The gate's rules over a dict (the KV adapter is tested against a real server)."""

    def __init__(self) -> None:
        self.entries: dict[UUID, GateEntry] = {}

    async def enter(
        self, recording_mbid: UUID, event_id: UUID, correlation_id: UUID, *, manual: bool, staged: bool = False
    ) -> tuple[Decision, GateEntry]:
        now = utcnow()
        mine = GateEntry(
            state=GateState.IN_FLIGHT,
            correlation_id=correlation_id,
            owner_event_id=event_id,
            created_at=now,
            updated_at=now,
        )
        existing = self.entries.get(recording_mbid)
        if existing is None:
            self.entries[recording_mbid] = mine
            return Decision.PROCEED, mine
        decision = decide(existing, event_id, manual=manual, staged=staged)
        if decision is Decision.REOPEN:
            self.entries[recording_mbid] = mine
            return Decision.PROCEED, mine
        return decision, existing

    async def mark(self, recording_mbid: UUID, state: GateState, detail: str = "") -> None:
        self.entries[recording_mbid] = self.entries[recording_mbid].model_copy(update={"state": state})

    async def get(self, recording_mbid: UUID) -> GateEntry | None:
        return self.entries.get(recording_mbid)


class MemoryNegative:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], RejectionReason] = {}

    async def contains(self, backend: str, candidate_id: str) -> bool:
        return (backend, candidate_id) in self.items

    async def add(
        self, backend: str, candidate_id: str, recording_mbid: UUID, reason: RejectionReason, detail: str
    ) -> None:
        self.items[(backend, candidate_id)] = reason


class MemoryOwned:
    def __init__(self) -> None:
        self.owned: set[UUID] = set()

    async def owns(self, recording_mbid: UUID) -> bool:
        return recording_mbid in self.owned


class FakeCovers:
    def __init__(self, image: bytes | None = PNG) -> None:
        self.image = image
        self.calls = 0

    async def fetch(self, cover: CoverRef) -> tuple[bytes, str] | None:
        self.calls += 1
        return (self.image, "image/png") if self.image else None


@dataclass
class FileBackend:
    """Serves prepared files as candidates, in order; counts fetches."""

    name: str = "files"
    files: list[tuple[str, Path]] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)
    refuse: dict[str, CandidateRefused] = field(default_factory=dict)

    async def search(self, want: Wanted) -> list[Candidate]:
        return [Candidate(self.name, f"{self.name}:{i}:{t}", t, ref=p) for i, (t, p) in enumerate(self.files)]

    async def fetch(self, candidate: Candidate, work: Path, progress: Progress) -> Path:
        self.fetched.append(candidate.candidate_id)
        if candidate.candidate_id in self.refuse:
            raise self.refuse[candidate.candidate_id]
        src: Path = candidate.ref
        dest = work / f"dl{src.suffix}"
        dest.write_bytes(src.read_bytes())
        await progress(dest.stat().st_size)
        return dest

    async def taken(self, candidate: Candidate) -> None:
        return None


@dataclass
class Wired:
    service: AcquireService
    gate: MemoryGate
    negative: MemoryNegative
    owned: MemoryOwned
    covers: FakeCovers
    staging: Staging
    published: list[Message]

    def of(self, cls: type[Message]) -> list[Any]:
        return [e for e in self.published if isinstance(e, cls)]


@pytest.fixture
def wire(tmp_path: Path) -> Callable[..., Wired]:
    def build(
        backends: dict[str, Backend], *, max_attempts: int = 5, album_mbid: bool = True, min_bitrate: int = 96
    ) -> Wired:
        published: list[Message] = []

        async def publish(event: Message) -> None:
            published.append(event)

        gate, negative, owned, covers = MemoryGate(), MemoryNegative(), MemoryOwned(), FakeCovers()
        staging = Staging(tmp_path / "staging")
        service = AcquireService(
            gate=gate,
            negative=negative,
            owned=owned,
            backends=backends,
            staging=staging,
            tagger=Tagger(staging.partial),
            probe=probe,
            covers=covers,
            rules=Rules(allowed_codecs=ALL_CODECS, min_bitrate_kbps=min_bitrate),
            options=Options(max_attempts=max_attempts, backends=lambda: list(backends), album_mbid=lambda: album_mbid),
            publish=publish,
        )
        return Wired(service, gate, negative, owned, covers, staging, published)

    return build
