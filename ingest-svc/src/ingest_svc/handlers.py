"""Subscribers of ingest-svc: decode → use case. Each receives its dependencies; none holds logic."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from contracts.discovery import DiscoveryHated, DiscoveryKept, DiscoveryRestored
from contracts.gateway import NowPlayingReported, ScrobbleSubmitted, StartRun
from contracts.ingest import ListenRecorded
from contracts.library import ScrobbleRecorded
from contracts.livesettings import UserAccounts
from infra.runtime import Defer, Delivery, Handler, UpstreamFault

from .scheduler import Scheduler
from .service import ListenService
from .service.feedback import FeedbackSender, SentElsewhere
from .service.forwarding import Forwarder, now_playing_of
from .service.scrobbles import listen_from_scrobble

__all__ = ["RunFailed", "on_discovery_decision", "on_listen_forward", "on_now_playing", "on_scrobble", "on_start_run"]


class RunFailed(UpstreamFault):
    """Every source of a requested run failed (ListenBrainz unreachable): redeliver the command later."""


def on_scrobble(listens: Callable[[], Awaitable[ListenService]], fallback_user: str) -> Handler:
    async def handle(event: ScrobbleSubmitted | ScrobbleRecorded, delivery: Delivery) -> None:
        service = await listens()
        await service.record(event.user or fallback_user, listen_from_scrobble(event), cause=event)

    return handle


def on_start_run(scheduler: Callable[[], Awaitable[Scheduler]]) -> Handler:
    async def handle(event: StartRun, delivery: Delivery) -> None:
        # one run per command, whatever the number of deliveries: a retry after a failure continues the same run
        run_id = uuid.uuid5(event.event_id, "run")
        reports = await (await scheduler()).run_now(event.user, trigger="manual", run_id=run_id)
        failed = [r for r in reports if r.failed]
        if failed:
            raise RunFailed("; ".join(str(e) for r in failed for e in r.errors))

    return handle


def on_listen_forward(
    forwarder: Callable[[], Awaitable[Forwarder]], accounts: Callable[[str], UserAccounts | None]
) -> Handler:
    async def handle(event: ListenRecorded, delivery: Delivery) -> None:
        await (await forwarder()).forward(event, accounts(event.user or ""))

    return handle


def on_now_playing(
    forwarder: Callable[[], Awaitable[Forwarder]], accounts: Callable[[str], UserAccounts | None]
) -> Handler:
    async def handle(event: NowPlayingReported, delivery: Delivery) -> None:
        play = now_playing_of(event)
        if play is not None:
            await (await forwarder()).now_playing(event.user or "", play, accounts(event.user or ""))

    return handle


def on_discovery_decision(
    sender: Callable[[], Awaitable[FeedbackSender]], accounts: Callable[[str], UserAccounts | None]
) -> Handler:
    async def handle(event: DiscoveryKept | DiscoveryHated | DiscoveryRestored, delivery: Delivery) -> None:
        try:
            await (await sender()).send(event, accounts(event.user or ""))
        except SentElsewhere as exc:
            if delivery.is_last_attempt:
                raise
            raise Defer(5.0, str(exc)) from None

    return handle
