"""The shell every BrainStream service process runs in."""

from .delivery import Defer, Delivery, Handler, Outcome, UpstreamFault, dispatch
from .health import collect_health, overall_status, upstream_summary
from .service import Check, CheckResult, ServiceRuntime
from .settings import RuntimeSettings

__all__ = [
    "Check",
    "CheckResult",
    "Defer",
    "Delivery",
    "Handler",
    "Outcome",
    "RuntimeSettings",
    "ServiceRuntime",
    "UpstreamFault",
    "collect_health",
    "dispatch",
    "overall_status",
    "upstream_summary",
]
