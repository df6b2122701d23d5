"""Protocols for every outbound dependency of the use cases; adapters implement them, tests pass fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from contracts.base import Message
from contracts.livesettings import UserAccounts

from .domain.listens import Listen, ListenCursor
from .domain.recommendations import CfCursor, CfPage, Recommendation
from .domain.sonos_plays import LoggedPlay

__all__ = [
    "CursorStore",
    "DiscoveryGate",
    "EventPublisher",
    "FeedbackItem",
    "FeedbackPage",
    "GateState",
    "GeneratedPlaylist",
    "KnownRecordings",
    "Lease",
    "ListenFeed",
    "ListenGate",
    "ListenPage",
    "PlayMemory",
    "RecommendationSource",
    "SeedArtist",
    "SonosNetwork",
    "SpeakerState",
    "SpeakerUnreachable",
    "SpeakerWhere",
    "Tombstone",
]


@dataclass(frozen=True)
class SeedArtist:
    name: str
    mbid: str | None = None


@dataclass(frozen=True)
class ListenPage:
    listens: list[Listen]
    complete: bool
    """True when the source has nothing beyond this page."""


@dataclass(frozen=True)
class GeneratedPlaylist:
    """A playlist ListenBrainz generated for a user (`createdfor`)."""

    mbid: UUID
    kind: str
    """'weekly-exploration' or 'weekly-jams'."""
    title: str
    date: str


@dataclass(frozen=True)
class FeedbackItem:
    recording_mbid: UUID
    score: int
    created: int
    """Unix time the user gave it."""


@dataclass(frozen=True)
class FeedbackPage:
    items: list[FeedbackItem]
    complete: bool


@dataclass(frozen=True)
class Tombstone:
    """A recording a user must not be offered again (library-svc writes it on expiry or hate)."""

    artist: str | None = None
    reason: str | None = None


class RecommendationSource(Protocol):
    async def cf_page(self, user: str, offset: int, count: int, token: str | None = None) -> CfPage | None: ...

    async def top_artists(self, user: str, count: int, range_: str, token: str | None = None) -> list[SeedArtist]: ...

    async def lb_radio(self, prompt: str, mode: str, token: str | None = None) -> list[Recommendation]: ...

    async def generated_playlists(self, user: str, token: str | None = None) -> list[GeneratedPlaylist]: ...

    async def playlist_tracks(self, playlist: UUID, token: str | None = None) -> list[Recommendation]: ...

    async def recording_names(
        self, mbids: list[UUID], token: str | None = None, batch: int = 50
    ) -> dict[UUID, tuple[str, str | None]]:
        """(artist credit, title) by recording MBID, for candidates whose source names no artist (CF)."""
        ...

    async def feedback(
        self, user: str, score: int, offset: int, count: int, token: str | None = None
    ) -> FeedbackPage: ...


class DiscoveryGate(Protocol):
    """The `discovery_gate` KV bucket (library-svc owns it): tombstones per user, and `paused`."""

    async def paused(self) -> str | None:
        """Why runs are paused (the disk budget), or None."""
        ...

    async def tombstones(self, user: str, mbids: list[UUID]) -> dict[UUID, Tombstone]: ...

    async def hated_artists(self, user: str) -> set[str]:
        """Artists (as written) of the user's tombstones of reason 'hated'."""
        ...


class ListenFeed(Protocol):
    """One listening service. `pages` yields oldest first; after each page the cursor may move to its newest play."""

    name: str

    def account_of(self, accounts: UserAccounts) -> str | None:
        """The user's name at this source, or None when the user has no account there."""
        ...

    def pages(self, accounts: UserAccounts, since_ts: int) -> AsyncIterator[list[Listen]]: ...


class CursorStore(Protocol):
    async def cf(self, user: str) -> CfCursor: ...

    async def save_cf(self, user: str, cursor: CfCursor) -> None: ...

    async def listens(self, user: str, source: str) -> ListenCursor | None: ...

    async def save_listens(self, user: str, source: str, cursor: ListenCursor) -> None: ...

    async def feedback(self, user: str) -> tuple[int, set[str]]:
        """The newest `created` of the user's ListenBrainz feedback read back, and the keys seen at that second."""
        ...

    async def save_feedback(self, user: str, newest: int, keys: set[str]) -> None: ...


class GateState:
    NEW = "new"
    """This caller claimed the key: publish, then mark it done."""
    PENDING = "pending"
    """Claimed earlier but not confirmed published (a crash in between): publish again, the msg id dedups."""
    DONE = "done"


class ListenGate(Protocol):
    async def claim(self, key: str) -> str:
        """Atomically create `key` as pending; answer a `GateState`."""
        ...

    async def done(self, key: str) -> None: ...


class KnownRecordings(Protocol):
    async def known(self, mbids: list[UUID]) -> set[UUID]:
        """Which of `mbids` are already wanted, in flight or in the library."""
        ...

    async def owned(self, mbids: list[UUID]) -> dict[UUID, str]:
        """Which of `mbids` the library holds, with their track ids."""
        ...


class Lease(Protocol):
    holder: str | None
    ttl_s: float

    async def hold(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        ...

    async def release(self) -> None: ...


class EventPublisher(Protocol):
    async def publish(self, event: Message) -> object: ...


class SpeakerUnreachable(Exception):
    """A speaker did not answer (off, unplugged, another network): normal for a speaker, reported and polled on."""


@dataclass(frozen=True)
class SpeakerWhere:
    """Who a speaker is and which group it plays in; a group plays one stream, read from its coordinator."""

    address: str
    uid: str
    room: str
    coordinator_address: str
    coordinator_uid: str
    coordinator_room: str
    group_rooms: tuple[str, ...]


@dataclass(frozen=True)
class SpeakerState:
    """A coordinator's transport state and current track, as the speaker reports them."""

    state: str
    uri: str
    queue_position: str
    title: str | None
    artist: str | None
    album: str | None
    duration_s: float | None
    position_s: float | None
    stream_content: str | None
    station: str | None


class SonosNetwork(Protocol):
    """The speakers, through SoCo. Every call raises `SpeakerUnreachable` when the speaker does not answer."""

    async def locate(self, address: str) -> SpeakerWhere: ...

    async def state(self, address: str) -> SpeakerState: ...

    async def services(self, address: str) -> dict[int, str]:
        """The speaker's own music service list: sid → display name."""
        ...

    async def discover(self) -> list[str]:
        """Addresses of the speakers found on the local network (one per zone)."""
        ...


class PlayMemory(Protocol):
    """The last on-demand play each Sonos group counted, kept across restarts (by coordinator uid)."""

    async def last_play(self, group: str) -> LoggedPlay | None: ...

    async def save_last_play(self, group: str, play: LoggedPlay) -> None: ...
