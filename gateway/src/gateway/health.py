"""GET /api/health: every service's own report, gathered over NATS."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, get
from litestar.datastructures import State

from infra.runtime import ServiceRuntime, collect_health, overall_status, upstream_summary

from .readmodel.queries import View

__all__ = ["HealthController"]


class HealthController(Controller):
    path = "/api/health"
    tags = ["system"]

    @get(
        operation_id="getHealth",
        summary="Health of the gateway, every service and every external service they use",
        description="`degraded` lists each external service that has failed for longer than the threshold while "
        "work waits on it, with since when, the reason and how many journeys are retrying because of it.",
    )
    async def health(self, state: State) -> dict[str, Any]:
        runtime: ServiceRuntime = state.runtime
        services = await collect_health(
            runtime.nc, timeout=state.settings.health_timeout_s, local=await runtime.health()
        )
        view: View = state.view
        waiting = await asyncio.to_thread(view.waiting_on)
        upstreams = upstream_summary(services)
        for key, entry in upstreams.items():
            entry["waiting"] = waiting.get(key, 0)
        degraded = [
            {"upstream": key, "name": u["name"], "since": u["failing_since"], "short": u["short"],
             "reason": u["reason"], "waiting": u["waiting"]}
            for key, u in upstreams.items()
            if u["degraded"]
        ]  # fmt: skip
        return {"status": overall_status(services), "degraded": degraded, "upstreams": upstreams, "services": services}
