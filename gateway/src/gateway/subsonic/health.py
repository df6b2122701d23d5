"""Health of the /rest upstream: does it answer at all (any HTTP answer counts; credentials are not the point)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from contracts.health import HealthStatus

from .upstream import UpstreamChooser

__all__ = ["upstream_check"]


def upstream_check(
    chooser: UpstreamChooser, session: Callable[[], aiohttp.ClientSession], timeout_s: float = 1.0
) -> Callable[[], Awaitable[tuple[HealthStatus, dict[str, Any]]]]:
    async def check() -> tuple[HealthStatus, dict[str, Any]]:
        upstream = chooser.current()
        kind = "navidrome" if upstream.navidrome else "library-svc"
        try:
            async with session().get(
                upstream.url("ping"),
                params=upstream.params([("f", "json")]),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                await resp.read()
                status = HealthStatus.OK if resp.status < 500 else HealthStatus.DEGRADED
                return status, {"upstream": kind, "http_status": resp.status}
        except (aiohttp.ClientError, TimeoutError) as exc:
            # /rest cannot serve music, but the UI and the pipeline still work: degraded, not down
            return HealthStatus.DEGRADED, {"upstream": kind, "error": f"{type(exc).__name__}: {exc}"[:200]}

    return check
