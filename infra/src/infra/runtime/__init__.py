"""The shell every BrainStream service process runs in."""

from .delivery import Delivery, Handler, Outcome, UpstreamFault, dispatch
from .health import collect_health, overall_status
from .service import Check, CheckResult, ServiceRuntime
from .settings import RuntimeSettings

__all__ = [
    "Check",
    "CheckResult",
    "Delivery",
    "Handler",
    "Outcome",
    "RuntimeSettings",
    "ServiceRuntime",
    "UpstreamFault",
    "collect_health",
    "dispatch",
    "overall_status",
]
