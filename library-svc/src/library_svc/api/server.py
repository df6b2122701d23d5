"""uvicorn inside the service process, leaving signal handling to the service runtime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator

import uvicorn

__all__ = ["EmbeddedServer", "run_server"]


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # the runtime owns SIGTERM/SIGINT and stops us by cancelling `run_server`
        yield


async def run_server(server: uvicorn.Server) -> None:
    """Serve until cancelled, then shut down gracefully (in-flight responses finish)."""
    task = asyncio.create_task(server.serve(), name="subsonic http")
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await task
        raise
