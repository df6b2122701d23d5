"""Fixtures of ingest-svc's tests: fast HTTP settings and the clients pointed at loopback fakes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from infra.http import ApiClient, HttpSettings, IntervalLimiter

FAST = HttpSettings(
    BRAINSTREAM_CONTACT="ops@example.org",
    BRAINSTREAM_HTTP_BACKOFF=0.01,
    BRAINSTREAM_HTTP_BACKOFF_MAX=0.5,
    BRAINSTREAM_HTTP_TIMEOUT=0.5,
    BRAINSTREAM_HTTP_RETRIES=2,
)


@pytest.fixture
def fast_http() -> HttpSettings:
    return FAST


@pytest.fixture
async def lb_client(fake_web) -> AsyncIterator[ApiClient]:  # type: ignore[no-untyped-def]
    async with ApiClient("listenbrainz", fake_web.base_url, FAST, limiter=IntervalLimiter(0.0)) as client:
        yield client
