"""Silent failures made loud: consumer lag that nobody works off, and background loops that stopped beating.

- `ConsumerWatch` keeps, per durable consumer of the process, how many messages wait (`num_pending`, refreshed
  periodically from the server) and when this process last worked on one. A consumer with messages pending while
  the process has handled nothing for `idle_after_s` is stuck: the health check says so, with the numbers.
- `Heartbeat` is what a supervised background loop (a poller, a scheduler) calls on every round; one that has not
  beaten within its `stall_after_s` makes the service unhealthy, naming the loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from contracts.health import HealthStatus

from ..metrics import CONSUMER_ACK_PENDING, CONSUMER_PENDING, LOOP_BEAT_AGE

__all__ = ["ConsumerWatch", "Heartbeat"]

CheckResult = tuple[HealthStatus, dict[str, Any]]


class Heartbeat:
    """Progress reports of one supervised loop. Call `beat()` after each successful round."""

    def __init__(self, service: str, name: str, stall_after_s: float) -> None:
        self.name = name
        self.stall_after_s = stall_after_s
        self.beats = 0
        self._last = time.monotonic()  # a loop that never beats is stalled `stall_after_s` after registration
        LOOP_BEAT_AGE.labels(service, name).set_function(self.age)

    def beat(self) -> None:
        self.beats += 1
        self._last = time.monotonic()

    def age(self) -> float:
        return time.monotonic() - self._last

    def check(self) -> CheckResult:
        age = round(self.age(), 3)
        detail: dict[str, Any] = {"last_beat_s_ago": age, "stall_after_s": self.stall_after_s, "beats": self.beats}
        if age > self.stall_after_s:
            detail["reason"] = f"loop {self.name} stalled: no progress for {age:.0f}s (limit {self.stall_after_s:.0f}s)"
            return HealthStatus.UNHEALTHY, detail
        return HealthStatus.OK, detail


@dataclass
class _Lag:
    stream: str
    in_flight: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    handled: int = 0
    pending: int | None = None
    ack_pending: int | None = None
    pending_since: float | None = None
    previous_pending: int | None = None
    error: str | None = None
    missing: bool = False


class ConsumerWatch:
    """Lag and activity of the durable consumers bound in this process."""

    def __init__(self, service: str, idle_after_s: float) -> None:
        self.service = service
        self.idle_after_s = idle_after_s
        self._lags: dict[str, _Lag] = {}

    def track(self, durable: str, stream: str) -> None:
        self._lags[durable] = _Lag(stream)

    @property
    def durables(self) -> dict[str, str]:
        return {durable: lag.stream for durable, lag in self._lags.items()}

    def started(self, durable: str) -> None:
        lag = self._lags[durable]
        lag.in_flight += 1
        lag.last_activity = time.monotonic()

    def finished(self, durable: str) -> None:
        lag = self._lags[durable]
        lag.in_flight -= 1
        lag.handled += 1
        lag.last_activity = time.monotonic()

    def observe(self, durable: str, pending: int, ack_pending: int) -> None:
        """Record what the server said about the consumer."""
        lag = self._lags[durable]
        lag.previous_pending, lag.pending, lag.ack_pending = lag.pending, pending, ack_pending
        lag.error, lag.missing = None, False
        if pending == 0:
            lag.pending_since = None
        elif lag.pending_since is None:
            lag.pending_since = time.monotonic()
        CONSUMER_PENDING.labels(self.service, durable).set(pending)
        CONSUMER_ACK_PENDING.labels(self.service, durable).set(ack_pending)

    def failed(self, durable: str, error: str, *, missing: bool = False) -> None:
        lag = self._lags[durable]
        lag.error, lag.missing = error, missing

    def check(self) -> CheckResult:
        now = time.monotonic()
        worst = HealthStatus.OK
        detail: dict[str, Any] = {}
        reasons: list[str] = []
        for durable, lag in self._lags.items():
            idle_s = 0.0 if lag.in_flight else now - lag.last_activity
            entry: dict[str, Any] = {
                "pending": lag.pending,
                "ack_pending": lag.ack_pending,
                "in_flight": lag.in_flight,
                "handled": lag.handled,
                "idle_s": round(idle_s, 1),
            }
            detail[durable] = entry
            if lag.missing:
                reasons.append(f"consumer {durable} does not exist on the server: {lag.error}")
                worst = HealthStatus.UNHEALTHY
                continue
            if lag.error:
                entry["error"] = lag.error
                worst = max(worst, HealthStatus.DEGRADED, key=_rank)
            if not lag.pending or lag.pending_since is None or lag.in_flight:
                continue
            waiting_s = now - max(lag.last_activity, lag.pending_since)
            if waiting_s >= self.idle_after_s:
                growing = lag.previous_pending is not None and lag.pending > lag.previous_pending
                reasons.append(
                    f"consumer {durable} has {lag.pending} pending{' and growing' if growing else ''} "
                    f"but this process handled nothing for {waiting_s:.0f}s"
                )
                worst = HealthStatus.UNHEALTHY
        if reasons:
            detail["reason"] = "; ".join(reasons)
        return worst, detail


def _rank(status: HealthStatus) -> int:
    return {HealthStatus.OK: 0, HealthStatus.DEGRADED: 1}.get(status, 2)
