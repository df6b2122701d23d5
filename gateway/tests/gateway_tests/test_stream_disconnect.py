"""A Subsonic client that hangs up frees the gateway's upstream connection at once, not at the end of the song."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiohttp import web

from tests.support.stack import free_port
from tests.support.wait import wait_until


async def test_client_disconnect_closes_the_upstream_stream(gateway_factory: Any) -> None:
    state = {"sent": 0, "aborted": False, "finished": False}

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "audio/flac", "Content-Length": str(64 * 1024 * 2000)})
        await resp.prepare(request)
        try:
            for _ in range(2000):  # 125 MiB at a listening pace: minutes if nobody hangs up
                await resp.write(b"\0" * 64 * 1024)
                state["sent"] += 1
                await asyncio.sleep(0.02)
            state["finished"] = True
        except (ConnectionResetError, asyncio.CancelledError):
            state["aborted"] = True
            raise
        return resp

    app = web.Application()
    app.router.add_get("/rest/stream", stream)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=f"http://127.0.0.1:{port}")
        params = {"u": "admin", "p": gw.app_password(), "id": "tr-1"}
        async with httpx.AsyncClient(base_url=gw.url) as c, c.stream("GET", "/rest/stream", params=params) as r:
            assert r.status_code == 200
            async for _ in r.aiter_bytes():
                break  # heard the first bytes; now hang up
        await wait_until(lambda: state["aborted"], timeout=10)
        assert not state["finished"] and state["sent"] < 1000
    finally:
        await runner.cleanup()
