"""Subscribers of ingest-svc: decode → use case. Each receives its dependencies; none holds logic."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from contracts.gateway import ScrobbleSubmitted, StartRun
from contracts.library import ScrobbleRecorded
from infra.runtime import Delivery, Handler, UpstreamFault

from .scheduler import Scheduler
from .service import ListenService
from .service.scrobbles import listen_from_scrobble

__all__ = ["RunFailed", "on_scrobble", "on_start_run"]


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
