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

__all__ = [
    "CursorStore",
    "EventPublisher",
    "GateState",
    "KnownRecordings",
    "Lease",
    "ListenFeed",
    "ListenGate",
    "ListenPage",
    "RecommendationSource",
    "SeedArtist",
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


class RecommendationSource(Protocol):
    async def cf_page(self, user: str, offset: int, count: int, token: str | None = None) -> CfPage | None: ...

    async def top_artists(self, user: str, count: int, range_: str, token: str | None = None) -> list[SeedArtist]: ...

    async def lb_radio(self, prompt: str, mode: str, token: str | None = None) -> list[Recommendation]: ...


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


class Lease(Protocol):
    holder: str | None
    ttl_s: float

    async def hold(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        ...

    async def release(self) -> None: ...


class EventPublisher(Protocol):
    async def publish(self, event: Message) -> object: ...
