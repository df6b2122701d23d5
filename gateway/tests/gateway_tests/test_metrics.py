"""GET /metrics serves every process's Prometheus metrics, to administrators only."""

from __future__ import annotations

from typing import Any

import httpx


async def test_metrics_need_an_admin_and_carry_the_gateways_own_series(gateway: Any) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as anonymous:
        assert (await anonymous.get("/metrics")).status_code == 401
    token = await gateway.token()
    async with httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}) as admin:
        resp = await admin.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    # the gateway's read-model consumers report their lag, labelled with the process
    lines = resp.text.splitlines()
    for durable in ("gateway_view_ingest", "gateway_view_library"):
        assert any(
            line.startswith(f'brainstream_consumer_pending{{consumer="{durable}",instance="gateway-')
            and 'service="gateway"' in line
            for line in lines
        ), durable
