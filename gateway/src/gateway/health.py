"""GET /api/health: every service's own report, gathered over NATS.

Without an administrator's credentials only the overall status and each service's status are shown: the reports
also hold user names, error texts, pids and paths, which are for administrators."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State

from infra.runtime import ServiceRuntime, collect_health, overall_status

from .auth.guard import optional_principal

__all__ = ["HealthController"]


class HealthController(Controller):
    path = "/api/health"
    tags = ["system"]

    @get(
        operation_id="getHealth",
        summary="Health of the gateway and every service (details for administrators only)",
    )
    async def health(self, request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
        runtime: ServiceRuntime = state.runtime
        services = await collect_health(
            runtime.nc, timeout=state.settings.health_timeout_s, local=await runtime.health()
        )
        who = await optional_principal(request)
        if who is None or not who.is_admin:
            services = {name: {"status": report.get("status")} for name, report in services.items()}
        return {"status": overall_status(services), "services": services}
