"""The gateway starts, serves its schema and health, and logs the first administrator in."""

from __future__ import annotations

from typing import Any as RunningGateway

import httpx


async def test_schema_health_and_login(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        schema = (await c.get("/schema/openapi.json")).json()
        ops = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
        assert {"login", "requestTrack", "listTracks", "retryTrack", "streamEvents", "getHealth"} <= ops
        assert (await c.get("/api/health")).status_code == 200
        assert (await c.get("/api/tracks")).status_code == 401
    client = await gateway.login()
    me = (await client.get("/api/me")).json()
    await client.aclose()
    assert me["username"] == "admin" and me["is_admin"]
