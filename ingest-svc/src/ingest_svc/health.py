"""Each source's last success and last error, and the health check built on them.

A source is unhealthy when its last success (or, before any, the moment polling started) is older than twice its
interval: a poll loop that silently stopped, or a source failing for that long, shows up instead of going stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.health import HealthStatus

__all__ = ["RUN_SOURCES", "SourceHealth", "SourceState"]

RUN_SOURCES = frozenset({"cf", "radio", "playlists"})
"""The sources of a recommendation run (the others are listen histories)."""


@dataclass
class SourceState:
    interval_s: float
    since: float
    """Monotonic time the source was first expected to be polled."""
    last_success: float | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_count: int = 0


class SourceHealth:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self.sources: dict[str, SourceState] = {}
        self.users = 0
        self.standby: str | None = None
        """Set while another process of ingest-svc runs the scheduled polls (then this one has nothing to report)."""
        self.runs_paused: dict[str, str] = {}
        """Users whose runs the disk budget paused, and why: their recommendation sources are not polled meanwhile."""

    def paused(self, user: str, why: str) -> None:
        self.runs_paused[user] = why

    def resumed(self, user: str) -> None:
        self.runs_paused.pop(user, None)

    def _state(self, user: str, source: str, interval_s: float) -> SourceState:
        key = f"{user}/{source}"
        state = self.sources.get(key)
        if state is None:
            state = self.sources[key] = SourceState(interval_s=interval_s, since=self._clock())
        state.interval_s = interval_s
        return state

    def expect(self, user: str, source: str, interval_s: float) -> None:
        self._state(user, source, interval_s)

    def success(self, user: str, source: str, interval_s: float, count: int = 0) -> None:
        state = self._state(user, source, interval_s)
        state.last_success = self._clock()
        state.last_success_at = datetime.now(UTC)
        state.last_count = count

    def failure(self, user: str, source: str, interval_s: float, error: str) -> None:
        state = self._state(user, source, interval_s)
        state.last_error = error
        state.last_error_at = datetime.now(UTC)

    def forget_except(self, keys: set[str]) -> None:
        """Drop sources no longer configured (a user or account removed from the live settings)."""
        for key in list(self.sources):
            if key not in keys:
                del self.sources[key]

    def check(self) -> tuple[HealthStatus, dict[str, Any]]:
        if self.standby is not None:
            return HealthStatus.OK, {"users": self.users, "note": f"standby: {self.standby} runs the scheduled polls"}
        if not self.sources:
            out: dict[str, Any] = {"users": self.users, "note": "no user account configured: nothing to poll"}
            if self.runs_paused:
                out["runs_paused"] = dict(sorted(self.runs_paused.items()))
            return HealthStatus.OK, out
        now = self._clock()
        worst = HealthStatus.OK
        detail: dict[str, Any] = {}
        for key, s in sorted(self.sources.items()):
            age = now - (s.last_success if s.last_success is not None else s.since)
            user, _, source = key.partition("/")
            waiting = user in self.runs_paused and source in RUN_SOURCES  # paused on purpose, not failing
            stale = age > 2 * s.interval_s and not waiting
            if stale:
                worst = HealthStatus.UNHEALTHY
            detail[key] = {
                "status": "unhealthy" if stale else "ok",
                "last_success": s.last_success_at.isoformat() if s.last_success_at else None,
                "last_error": s.last_error,
                "last_error_at": s.last_error_at.isoformat() if s.last_error_at else None,
                "interval_s": s.interval_s,
            }
            if waiting:
                detail[key]["paused"] = self.runs_paused[user]
        out = {"users": self.users, "sources": detail}
        if self.runs_paused:
            out["runs_paused"] = dict(sorted(self.runs_paused.items()))
        return worst, out
