"""ListenBrainz listen history as a `ListenFeed`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from contracts.livesettings import UserAccounts

from ..domain.listens import Listen
from .listenbrainz import ListenBrainz

__all__ = ["ListenBrainzFeed"]


class ListenBrainzFeed:
    """Pages forward in time with `min_ts`.

    ListenBrainz answers a `min_ts` query with the oldest `count` listens after it. The next page starts one second
    before the newest listen of this one, so listens sharing that second on both sides of the page boundary are not
    lost; the one or two listens read twice are dropped by the listen gate.
    """

    name = "listenbrainz"

    def __init__(self, api: ListenBrainz, page_size: int = 1000) -> None:
        self.api = api
        self.page_size = page_size

    def account_of(self, accounts: UserAccounts) -> str | None:
        return accounts.listenbrainz_user

    async def pages(self, accounts: UserAccounts, since_ts: int) -> AsyncIterator[list[Listen]]:
        user = accounts.listenbrainz_user
        if not user:
            return
        min_ts = since_ts
        while True:
            page = await self.api.listens(user, min_ts, self.page_size, accounts.listenbrainz_token)
            listens = sorted(page.listens, key=lambda listen: listen.timestamp)
            yield listens
            if page.complete or not listens:
                return
            newest = listens[-1].timestamp
            # overlap one second; if a whole page shares one second, step past it rather than loop forever
            min_ts = newest - 1 if newest - 1 > min_ts else newest
