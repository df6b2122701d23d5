"""GET /api/health: every service's own report, gathered over NATS."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.datastructures import State

from infra.runtime import ServiceRuntime, collect_health, overall_status

__all__ = ["HealthController"]


class HealthController(Controller):
    path = "/api/health"
    tags = ["system"]

    @get(operation_id="getHealth", summary="Health of the gateway and every service")
    async def health(self, state: State) -> dict[str, Any]:
        runtime: ServiceRuntime = state.runtime
        services = await collect_health(
            runtime.nc, timeout=state.settings.health_timeout_s, local=await runtime.health()
        )
        return {"status": overall_status(services), "services": services}
