"""Composition root of ingest-svc: settings → runtime → handlers. Nothing imports this module."""

from __future__ import annotations

import asyncio

from infra.logs import configure_logging
from infra.runtime import ServiceRuntime

from . import SERVICE, __version__, handlers
from .settings import Settings

__all__ = ["build", "main"]


def build(settings: Settings) -> ServiceRuntime:
    runtime = ServiceRuntime(SERVICE, __version__, settings)
    runtime.consume("ingest_scrobbles", handlers.not_handled_yet)
    runtime.consume("ingest_library_scrobbles", handlers.not_handled_yet)
    runtime.consume("ingest_runs", handlers.not_handled_yet)
    return runtime


def main() -> None:
    configure_logging(SERVICE)
    asyncio.run(build(Settings()).run())
