"""Health of the /rest upstream: does it answer at all (any HTTP answer counts, except library-svc refusing the
gateway's internal secret: then no /rest call can work)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from contracts.health import HealthStatus
from infra.upstreams import UPSTREAMS, Failure

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
                headers=upstream.headers(None),
                timeout=aiohttp.ClientTimeout(total=timeout_s),
            ) as resp:
                await resp.read()
                status = HealthStatus.OK if resp.status < 500 else HealthStatus.DEGRADED
                detail: dict[str, Any] = {"upstream": kind, "reachable": True, "http_status": resp.status}
                if upstream.navidrome:
                    _note_navidrome(resp.status)
                elif resp.status == 401:  # /rest cannot work until the secrets agree
                    status = HealthStatus.DEGRADED
                    detail["error"] = "library-svc refused the gateway: BRAINSTREAM_LIBRARY_API_SECRET differs"
                return status, detail
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = {"upstream": kind, "reachable": False, "error": f"{type(exc).__name__}: {exc}"[:200]}
            if upstream.navidrome:
                why = "no answer in time" if isinstance(exc, TimeoutError) else str(exc)[:200] or type(exc).__name__
                UPSTREAMS.failure("navidrome", Failure("navidrome", "unreachable", f"Navidrome unreachable: {why}"))
            # Navidrome has no health report of its own, so its absence degrades the gateway (/rest cannot serve
            # music; the UI and the pipeline still work). library-svc reports its own API in its own health.
            return (HealthStatus.DEGRADED if upstream.navidrome else HealthStatus.OK), detail

    return check


def _note_navidrome(status: int) -> None:
    """Navidrome, when it serves /rest, is an upstream like the others: its health entry follows this ping."""
    if status < 500:
        UPSTREAMS.success("navidrome")
    else:
        UPSTREAMS.failure("navidrome", Failure("navidrome", "unavailable", f"Navidrome unavailable: HTTP {status}"))
