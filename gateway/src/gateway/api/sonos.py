"""GET /api/sonos: what each Sonos speaker plays now, its service and its last poll.

ingest-svc polls the speakers and keeps their state in its `sonos` health check; the gateway reads it from that
service's health answer over NATS, as `/api/health` does, never from another service's storage. An administrator
sees every speaker; another user sees the speakers whose plays are theirs.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from pydantic import BaseModel

from contracts.health import HealthStatus
from infra.runtime import ServiceRuntime, collect_health

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
        reports = await collect_health(runtime.nc, (INGEST,), timeout=state.settings.health_timeout_s)
        report: dict[str, Any] = reports.get(INGEST, {})
        check = (report.get("checks") or {}).get("sonos")
        if not isinstance(check, dict):
            note = report.get("error") or "ingest-svc reports no Sonos state"
            return SonosOut(status=HealthStatus.MISSING.value, note=str(note), speakers=[])
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
