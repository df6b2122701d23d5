"""GET /api/sonos: what each Sonos speaker plays now, its service and its last poll.

ingest-svc polls the speakers and keeps their state in its `sonos` health check; the gateway reads it from that
service's health answer over NATS, as `/api/health` does, never from another service's storage. An administrator
sees every speaker; another user sees the speakers whose plays are theirs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import BaseModel, ValidationError

from contracts.health import HealthReport, HealthStatus, health_subject
from infra.runtime import ServiceRuntime

from ..auth.guard import principal
from ..auth.users import Principal

__all__ = ["SonosController", "SonosOut", "SpeakerOut"]

INGEST = "ingest-svc"


class SpeakerOut(BaseModel):
    address: str
    room: str | None = None
    status: str
    """`ok`, `unreachable`, `failing` or `waiting`."""
    state: str | None = None
    group: str | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    station: str | None = None
    service: str | None = None
    user: str | None = None
    last_poll: str | None = None
    last_success: str | None = None
    error: str | None = None
    retry_at: str | None = None


class SonosOut(BaseModel):
    status: str
    """The `sonos` check's status; `missing` when ingest-svc did not answer."""
    interval_s: float | None = None
    last_poll: str | None = None
    note: str | None = None
    poll_error: str | None = None
    last_restart: str | None = None
    speakers: list[SpeakerOut]


async def _polling_check(nc: NatsClient, timeout: float) -> dict[str, Any] | None:
    """The `sonos` check of the ingest-svc process that polls the speakers.

    With replicas only the process holding the scheduler lease polls; the others answer "standby". Every process
    answers the health request, so the answers are gathered until the polling one's arrives (at once with a single
    process) or the timeout ends, when the last standby answer is the best there is.
    """
    inbox = nc.new_inbox()
    answers = await nc.subscribe(inbox)
    best: dict[str, Any] | None = None
    try:
        await nc.publish(health_subject(INGEST), b"", reply=inbox)
        deadline = asyncio.get_running_loop().time() + timeout
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await answers.next_msg(timeout=left)
            except NatsTimeoutError:
                break
            try:
                report = HealthReport.model_validate_json(msg.data)
            except ValidationError:
                continue
            check = report.checks.get("sonos")
            if isinstance(check, dict):
                best = check
                if not str(check.get("note", "")).startswith("standby"):
                    break
    finally:
        await answers.unsubscribe()
    return best


class SonosController(Controller):
    path = "/api/sonos"
    tags = ["listens"]

    @get(
        operation_id="getSonosSpeakers",
        summary="Each Sonos speaker: what it plays now, its service and its last poll",
        dependencies={"who": Provide(principal)},
    )
    async def speakers(self, who: NamedDependency[Principal], state: State) -> SonosOut:
        runtime: ServiceRuntime = state.runtime
        check = await _polling_check(runtime.nc, state.settings.health_timeout_s)
        if check is None:
            return SonosOut(status=HealthStatus.MISSING.value, note="ingest-svc did not answer", speakers=[])
        speakers = [
            SpeakerOut.model_validate(s)
            for s in check.get("speakers", [])
            if who.is_admin or s.get("user") == who.username
        ]
        return SonosOut(
            status=str(check.get("status")),
            interval_s=check.get("interval_s"),
            last_poll=check.get("last_poll"),
            note=check.get("note"),
            poll_error=check.get("poll_error"),
            last_restart=check.get("last_restart"),
            speakers=speakers,
        )
