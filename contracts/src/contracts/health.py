"""The health protocol: a core NATS request on `health.<service>` answered with a `HealthReport`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from .base import Model

__all__ = ["SERVICES", "HealthReport", "HealthStatus", "health_subject"]

SERVICES: tuple[str, ...] = ("ingest-svc", "resolve-svc", "acquire-svc", "library-svc", "gateway")
"""Every service of the stack, in pipeline order."""


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"
    MISSING = "missing"
    """Nobody answered the health request."""


class HealthReport(Model):
    service: str
    status: HealthStatus
    uptime_s: float = Field(ge=0)
    version: str
    pid: int
    instance: str = Field(description="Unique per process, so replicas can be told apart.")
    consumers: list[str] = Field(default_factory=list, description="Durable consumers this process is bound to.")
    checks: dict[str, Any] = Field(default_factory=dict, description="Named checks with their details.")


def health_subject(service: str) -> str:
    return f"health.{service}"
