"""The cross-replica slot limiter lives in `infra.ratelimit`, shared by every service; this name stays for callers."""

from infra.ratelimit import KvSlotLimiter

__all__ = ["KvSlotLimiter"]
