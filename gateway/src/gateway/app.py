"""Composition root of the gateway: settings → runtime → Litestar app. Nothing imports this module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from litestar import Litestar
from litestar.datastructures import State

from infra.logs import configure_logging
from infra.runtime import ServiceRuntime

from . import SERVICE, __version__
from .health import HealthController
from .settings import Settings

__all__ = ["create_app", "main"]


def create_app(settings: Settings) -> Litestar:
    runtime = ServiceRuntime(SERVICE, __version__, settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    return Litestar(
        route_handlers=[HealthController],
        lifespan=[lifespan],
        state=State({"runtime": runtime, "settings": settings}),
        logging_config=None,
    )


def main() -> None:
    configure_logging(SERVICE)
    settings = Settings()
    uvicorn.run(
        create_app(settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
