"""GET /api/health: every service's own report, gathered over NATS.

Without an administrator's credentials only the overall status and each service's status are shown: the reports
also hold user names, error texts, pids and paths, which are for administrators."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State

from infra.runtime import ServiceRuntime, collect_health, overall_status, upstream_summary

from .auth.guard import optional_principal
from .readmodel.queries import View

__all__ = ["HealthController"]


class HealthController(Controller):
    path = "/api/health"
    tags = ["system"]

    @get(
        operation_id="getHealth",
        summary="Health of the gateway, every service and every external service they use",
        description="To anyone: the overall status and each service's status. To a signed-in user also `degraded`: "
        "each external service that has failed for longer than the threshold while work waits on it, with since when, "
        "the reason and how many journeys are retrying because of it (the web UI's banner). To an administrator "
        "every service's whole report and `upstreams`, every external service's last success and failure.",
    )
    async def health(self, request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
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
        status = overall_status(services)
        who = await optional_principal(request)
        if who is None:
            return {"status": status, "services": {name: {"status": r.get("status")} for name, r in services.items()}}
        if not who.is_admin:
            return {
                "status": status,
                "degraded": degraded,
                "services": {name: {"status": r.get("status")} for name, r in services.items()},
            }
        return {"status": status, "degraded": degraded, "upstreams": upstreams, "services": services}
