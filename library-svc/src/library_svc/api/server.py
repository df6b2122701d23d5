"""uvicorn inside the service process, leaving signal handling to the service runtime."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn

__all__ = ["EmbeddedServer", "run_server", "shared_socket"]


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # the runtime owns SIGTERM/SIGINT and stops us by cancelling `run_server`
        yield


def shared_socket(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT where the platform has it, so replicas of the service (`brainstream up
    --replicas library=2`) share one port and the kernel spreads connections between them.

    Made with protocol IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets of that protocol. Without
    it, an answer written as head then body waits for the peer's delayed acknowledgement of the head, up to 40 ms per
    call on a kept-alive connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


async def run_server(server: uvicorn.Server) -> None:
    """Serve until cancelled, then shut down gracefully (in-flight responses finish)."""
    sock = shared_socket(server.config.host, server.config.port)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="subsonic http")
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.should_exit = True
        await task
        raise
