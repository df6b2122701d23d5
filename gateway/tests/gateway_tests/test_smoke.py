"""The gateway starts, serves its schema and health, and logs the first administrator in."""

from __future__ import annotations

from typing import Any

import httpx


async def test_schema_health_and_login(gateway: Any) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        schema = (await c.get("/schema/openapi.json")).json()
        ops = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
        assert {"login", "requestTrack", "listTracks", "retryTrack", "streamEvents", "getHealth"} <= ops
        health = (await c.get("/api/health")).json()
        assert health["services"]["gateway"] == {"status": "ok"}  # the details are for administrators
        assert (await c.get("/api/tracks")).status_code == 401
    client = await gateway.login()
    health = (await client.get("/api/health")).json()
    assert health["services"]["gateway"]["checks"]["subsonic_upstream"]["status"] == "ok"
    me = (await client.get("/api/me")).json()
    await client.aclose()
    assert me["username"] == "admin" and me["is_admin"]


async def test_health_reports_an_unreachable_upstream(gateway_factory: Any) -> None:
    from tests.support.stack import free_port

    gone = f"http://127.0.0.1:{free_port()}"
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=gone)
    c = await gw.login()
    try:
        report = (await c.get("/api/health")).json()["services"]["gateway"]
        # library-svc reports its own API; the gateway only notes it cannot reach it
        assert report["checks"]["subsonic_upstream"]["reachable"] is False
        assert report["status"] == "ok"
        gw2 = await gateway_factory(
            BRAINSTREAM_NAVIDROME_URL=gone, BRAINSTREAM_NAVIDROME_USER="u", BRAINSTREAM_NAVIDROME_PASSWORD="p"
        )
        c2 = await gw2.login()
        report = (await c2.get("/api/health")).json()["services"]["gateway"]
        await c2.aclose()
    finally:
        await c.aclose()
    assert report["status"] == "degraded"
    assert report["checks"]["subsonic_upstream"]["status"] == "degraded"
