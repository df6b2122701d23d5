"""GET /metrics: the Prometheus metrics of every process of the stack, gathered over NATS.

Admins only (an API token serves a Prometheus scraper: `authorization: {credentials: <token>}`): the figures name
users' consumers and external accounts' traffic, and the gateway is the stack's one door.
"""

from __future__ import annotations

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from infra.metrics import gather_metrics

from ..auth.guard import admin_principal
from ..auth.users import Principal

__all__ = ["MetricsController"]

_PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class MetricsController(Controller):
    path = "/metrics"
    tags = ["system"]
    dependencies = {"who": Provide(admin_principal)}

    @get(operation_id="getMetrics", summary="Prometheus metrics of every service process", media_type=MediaType.TEXT)
    async def metrics(self, who: NamedDependency[Principal], state: State) -> Response[str]:
        text = await gather_metrics(state.runtime.nc)
        return Response(text, media_type=_PROMETHEUS_TEXT)
