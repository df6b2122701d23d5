"""An external failure as a `PollFailed` event with a machine-readable reason."""

from __future__ import annotations

from contracts.ingest import PollFailed, PollFailureReason
from infra.http import BadResponse, ExternalError, NotFound

__all__ = ["poll_failed", "reason_of"]

_BY_REASON = {
    "rate_limited": PollFailureReason.RATE_LIMITED,
    "timeout": PollFailureReason.TIMEOUT,
    "private_user": PollFailureReason.PRIVATE_USER,
    "unauthorized": PollFailureReason.UNAUTHORIZED,
}


def reason_of(exc: ExternalError) -> PollFailureReason:
    if exc.reason in _BY_REASON:
        return _BY_REASON[exc.reason]
    if isinstance(exc, NotFound):
        return PollFailureReason.NOT_FOUND
    if isinstance(exc, BadResponse):
        return PollFailureReason.BAD_RESPONSE
    if exc.status in (401, 403):
        return PollFailureReason.UNAUTHORIZED
    if exc.retryable:
        return PollFailureReason.UNAVAILABLE
    return PollFailureReason.BAD_RESPONSE


def poll_failed(user: str, source: str, exc: ExternalError) -> PollFailed:
    return PollFailed(user=user, source=source, reason=reason_of(exc), detail=str(exc)[:500], status=exc.status)
