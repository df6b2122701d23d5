"""Ask every service for its health over NATS; used by the gateway's /api/health and `brainstream status`."""

from __future__ import annotations

import asyncio
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from contracts.health import SERVICES, HealthReport, HealthStatus, health_subject

__all__ = ["collect_health", "overall_status", "upstream_summary"]


async def _ask(nc: NatsClient, service: str, timeout: float) -> dict[str, Any]:
    try:
        reply = await nc.request(health_subject(service), b"", timeout=timeout)
        return HealthReport.model_validate_json(reply.data).model_dump(mode="json")
    except NoRespondersError:
        return {"service": service, "status": HealthStatus.MISSING.value, "error": "no process answers"}
    except (NatsTimeoutError, TimeoutError):
        return {"service": service, "status": HealthStatus.MISSING.value, "error": f"no answer within {timeout}s"}
    except ValidationError as exc:
        return {"service": service, "status": HealthStatus.UNHEALTHY.value, "error": f"bad health reply: {exc}"}


async def collect_health(
    nc: NatsClient, services: tuple[str, ...] = SERVICES, timeout: float = 1.0, local: HealthReport | None = None
) -> dict[str, dict[str, Any]]:
    """Health of each service by name; `local` stands in for the asking process's own report."""
    names = [s for s in services if local is None or s != local.service]
    answers = await asyncio.gather(*(_ask(nc, s, timeout) for s in names))
    result = dict(zip(names, answers, strict=True))
    if local is not None:
        result[local.service] = local.model_dump(mode="json")
    return {s: result[s] for s in services if s in result}


def overall_status(reports: dict[str, dict[str, Any]]) -> str:
    """'ok' only when every service answered ok; otherwise 'degraded'."""
    return "ok" if all(r.get("status") == HealthStatus.OK.value for r in reports.values()) else "degraded"


def _later(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def upstream_summary(reports: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every external service any process reported, merged: newest success and failure, and when it is degraded,
    since when and by which services. Degraded ones come first."""
    merged: dict[str, dict[str, Any]] = {}
    for service, report in reports.items():
        entries = (report.get("checks") or {}).get("upstreams", {}).get("entries", {})
        for key, e in entries.items():
            m = merged.setdefault(
                key,
                {"name": e.get("name", key), "last_success": None, "last_failure": None, "failing_since": None,
                 "reason": "", "short": "", "degraded": False, "services": []},
            )  # fmt: skip
            m["services"].append(service)
            m["last_success"] = _later(m["last_success"], e.get("last_success"))
            if e.get("last_failure") and (m["last_failure"] is None or e["last_failure"] >= m["last_failure"]):
                m["last_failure"], m["reason"], m["short"] = e["last_failure"], e.get("reason", ""), e.get("short", "")
            since = e.get("failing_since")
            if since:
                m["failing_since"] = min(x for x in (m["failing_since"], since) if x)
            m["degraded"] = m["degraded"] or bool(e.get("degraded"))
    return dict(sorted(merged.items(), key=lambda kv: (not kv[1]["degraded"], kv[0])))
