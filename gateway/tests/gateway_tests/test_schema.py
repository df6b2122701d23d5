"""schemathesis against /schema: no generated request makes the gateway answer 5xx (bounded: a few examples)."""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings


async def test_no_5xx_from_generated_requests(gateway: Any) -> None:
    token = await gateway.token()
    failures: list[str] = []

    def run() -> None:  # in a thread: the gateway serves from this test's event loop
        schemathesis.experimental.OPEN_API_3_1.enable()  # Litestar publishes OpenAPI 3.1
        schema = schemathesis.from_uri(f"{gateway.url}/schema/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path == "/api/events":
                continue  # an endless stream; covered by its own test
            if operation.path == "/api/requests/candidates":
                continue  # answered by resolve-svc, which this test does not run (503); see test_browser_request

            @given(case=operation.as_strategy())
            @settings(
                max_examples=4,
                deadline=None,
                phases=[Phase.generate],
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Any) -> None:
                resp = case.call(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
                if resp.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:200]}")

            check()

    await asyncio.to_thread(run)
    assert failures == []
