"""The background work of ingest-svc: supervised loops that run recommendations and poll listens on a schedule.

Each loop is supervised: an unexpected exception is logged with its traceback and the loop starts again after a
back-off (doubling up to a minute, back to the start once a loop has stayed up). External failures never get that
far: they are reported per source (`PollFailed`, health) and the loop goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from contracts.livesettings import UserAccounts

from .config import Config
from .health import SourceHealth
from .ports import Lease, ListenFeed
from .service import ListenService, RecommendationService, RunReport
from .service.sonos import SonosPoller

__all__ = ["Scheduler", "supervise"]

log = logging.getLogger(__name__)


async def supervise(
    name: str,
    loop: Callable[[], Awaitable[None]],
    *,
    first_delay_s: float = 0.5,
    max_delay_s: float = 60.0,
    stable_after_s: float = 60.0,
    on_crash: Callable[[str], None] | None = None,
) -> None:
    """Run `loop` forever; restart it with back-off whenever it raises or returns (`on_crash` hears why)."""
    delay = first_delay_s
    while True:
        started = time.monotonic()
        try:
            await loop()
            log.error("loop %s returned; restarting in %.1fs", name, delay)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("loop %s crashed; restarting in %.1fs", name, delay)
            if on_crash is not None:
                on_crash(f"loop crashed, restarting in {delay:.1f}s: {type(exc).__name__}: {exc}")
        if time.monotonic() - started >= stable_after_s:
            delay = first_delay_s
        await asyncio.sleep(delay)
        delay = min(max_delay_s, delay * 2)


class Scheduler:
    def __init__(
        self,
        config: Config,
        recommendations: RecommendationService,
        listens: ListenService,
        feeds: list[ListenFeed],
        health: SourceHealth,
        lease: Lease | None = None,
        sonos: SonosPoller | None = None,
    ) -> None:
        self.config = config
        self.lease = lease
        self.leader = lease is None
        """Whether this process runs the scheduled work (always, without a lease: a single process)."""
        self._leading = asyncio.Event()
        if self.leader:
            self._leading.set()
        self.recommendations = recommendations
        self.listens = listens
        self.feeds = feeds
        self.health = health
        self.sonos = sonos
        self._wake = asyncio.Event()
        self._sonos_wake = asyncio.Event()

    def wake(self, _key: str = "") -> None:
        """Settings changed: the loops re-read them now instead of at the end of a long sleep."""
        self._wake.set()
        self._sonos_wake.set()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):  # the interval ran out: time for the next round
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    def refresh_expected(self) -> None:
        """Register every configured (user, source) with health, and forget removed ones."""
        users = self.config.users()
        keys: set[str] = set()
        sources = ("cf", "radio", "playlists") if self.config.run().playlists_ratio > 0 else ("cf", "radio")
        for name, acc in users.items():
            if acc.listenbrainz_user:
                for src in sources:
                    self.health.expect(name, src, self.config.run_interval_s)
                    keys.add(f"{name}/{src}")
            for feed in self.feeds:
                if feed.account_of(acc):
                    self.health.expect(name, feed.name, self.config.listen_interval_s)
                    keys.add(f"{name}/{feed.name}")
        self.health.users = len(users)
        self.health.forget_except(keys)

    async def run_now(self, user: str | None, *, trigger: str, run_id: uuid.UUID | None = None) -> list[RunReport]:
        """Recommendation runs for one user (or all) now. A named user without a ListenBrainz account gets a run
        that failed with that reason; with no user named, account-less users are skipped."""
        users = self.config.users()
        chosen: dict[str, UserAccounts] = (
            {user: users[user]} if user is not None and user in users else ({} if user is not None else users)
        )
        if user is not None and not (chosen and chosen[user].listenbrainz_user):
            await self.recommendations.refuse(
                user,
                run_id or uuid.uuid4(),
                trigger,
                "no_account",
                "no ListenBrainz account: recommendations come from ListenBrainz; add the account under Users",
            )
            return []
        reports = []
        for name, acc in chosen.items():
            if not acc.listenbrainz_user:
                log.info("no ListenBrainz account for %s: no recommendations", name)
                continue
            reports.append(
                await self.recommendations.run(
                    name,
                    acc,
                    self.config.run(),
                    trigger=trigger,
                    interval_s=self.config.run_interval_s,
                    run_id=run_id if user is not None else None,
                )
            )
        return reports

    async def scheduled_runs(self) -> float:
        """Run every user whose interval is over; return the seconds until the next one is due."""
        self.refresh_expected()
        interval = self.config.run_interval_s
        next_due = interval
        for name, acc in self.config.users().items():
            if not acc.listenbrainz_user:
                continue
            wait = await self.recommendations.due_in(name, interval)
            if wait <= 0:
                await self.recommendations.run(name, acc, self.config.run(), trigger="schedule", interval_s=interval)
                wait = interval
            next_due = min(next_due, wait)
        return max(1.0, next_due)

    async def lease_loop(self) -> None:
        """Hold the scheduler lease, renewing it three times per TTL; follow the holder when another process has it."""
        if self.lease is None:
            await asyncio.Event().wait()  # a single process: nothing to hold
            return
        while True:
            leader = await self.lease.hold()
            if leader != self.leader:
                log.info(
                    "%s the scheduled loops%s",
                    "now running" if leader else "standing by for",
                    "" if leader else f" (held by {self.lease.holder})",
                )
            self.leader = leader
            self.health.standby = None if leader else (self.lease.holder or "another process")
            if self.sonos is not None:
                self.sonos.health.standby = self.health.standby
            if leader:
                self._leading.set()
            else:
                self._leading.clear()
            await asyncio.sleep(self.lease.ttl_s / 3)

    async def recommendation_loop(self) -> None:
        while True:
            await self._leading.wait()
            await self._sleep(await self.scheduled_runs())

    async def poll_listens_once(self) -> None:
        self.refresh_expected()
        for name, acc in self.config.users().items():
            for feed in self.feeds:
                if feed.account_of(acc):
                    await self.listens.poll_reported(
                        name, acc, feed, self.config.first_poll_from_ts(), self.config.listen_interval_s
                    )

    async def listen_loop(self) -> None:
        while True:
            await self._leading.wait()
            await self.poll_listens_once()
            await self._sleep(self.config.listen_interval_s)

    async def sonos_loop(self) -> None:
        """Poll the Sonos speakers every `sonos_interval_s` (a settings change polls at once)."""
        if self.sonos is None:
            await asyncio.Event().wait()
            return
        while True:
            await self._leading.wait()
            await self.sonos.poll_once()
            self._sonos_wake.clear()
            with contextlib.suppress(TimeoutError):  # the interval ran out: time for the next poll
                await asyncio.wait_for(self._sonos_wake.wait(), timeout=self.sonos.interval_s)
