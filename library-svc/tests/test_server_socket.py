"""The API's listening socket: connections it accepts send small writes at once (no delayed-ack stall)."""

from __future__ import annotations

import asyncio
import socket

from library_svc.api.server import shared_socket


async def test_accepted_connections_have_nodelay() -> None:
    sock = shared_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        seen.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(accepted, sock=sock)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        # without TCP_NODELAY an answer written as head then body waits up to 40 ms for the peer's delayed ack
        assert await asyncio.wait_for(seen, timeout=10) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
