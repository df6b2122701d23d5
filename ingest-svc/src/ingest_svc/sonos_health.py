"""What each Sonos speaker is doing and how its polling goes: the `sonos` health check, which the web UI shows.

A speaker that is off is normal for Sonos, so an unreachable speaker makes the check `degraded`, not `unhealthy`;
it keeps its last success. A poll that raised (a fault of ours or a speaker's broken answer) is `degraded` too and
says when it retries. The check is `unhealthy` only when no poll has completed for three intervals: the loop itself
is stuck or dead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.health import HealthStatus

__all__ = ["SonosHealth", "SpeakerView"]


@dataclass
class SpeakerView:
    address: str
    room: str | None = None
    status: str = "waiting"
    """`ok`, `unreachable`, `failing` (a poll raised; retried after a back-off) or `waiting` (not polled yet)."""
    state: str | None = None
    group: str | None = None
    """The coordinator's room when this speaker plays in a group led by another speaker."""
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    station: str | None = None
    service: str | None = None
    user: str | None = None
    last_poll: str | None = None
    last_success: str | None = None
    error: str | None = None
    retry_at: str | None = None
    failures: int = 0


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


class SonosHealth:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock
        self.speakers: dict[str, SpeakerView] = {}
        self.interval_s = 10.0
        self.enabled = False
        self.started_at = clock()
        self.last_poll_at: datetime | None = None
        self.loop_error: str | None = None
        self.loop_error_at: datetime | None = None
        self.restarts = 0
        self.last_restart: str | None = None
        """The poll loop's last crash, kept after it recovered so a crash is never silent."""
        self.standby: str | None = None
        """Set while another process of ingest-svc polls the speakers."""
        self.unsent = 0
        """Plays counted but not yet published (NATS away); retried at every poll."""

    def configured(self, addresses: list[str], interval_s: float, *, enabled: bool) -> None:
        self.enabled, self.interval_s = enabled, interval_s
        for address in addresses:
            self.speakers.setdefault(address, SpeakerView(address))
        for address in list(self.speakers):
            if address not in addresses:
                del self.speakers[address]

    def view(self, address: str) -> SpeakerView:
        return self.speakers.setdefault(address, SpeakerView(address))

    def polled(self, address: str, *, ok: bool, error: str | None = None) -> SpeakerView:
        now = self.clock()
        view = self.view(address)
        view.last_poll = _iso(now)
        if ok:
            view.status, view.error, view.failures, view.retry_at = "ok", None, 0, None
            view.last_success = view.last_poll
        else:
            view.error = error
        return view

    def poll_done(self) -> None:
        self.last_poll_at = self.clock()
        self.loop_error = None

    def loop_failed(self, error: str) -> None:
        self.loop_error, self.loop_error_at = error, self.clock()

    def loop_restarted(self, why: str) -> None:
        """The supervisor caught the poll loop crashing and restarts it after a back-off."""
        self.loop_failed(why)
        self.restarts += 1
        self.last_restart = f"{_iso(self.loop_error_at)}: {why}"

    def check(self) -> tuple[HealthStatus, dict[str, Any]]:
        if self.standby is not None:
            return HealthStatus.OK, {"note": f"standby: {self.standby} polls the speakers", "speakers": []}
        detail: dict[str, Any] = {"interval_s": self.interval_s, "last_poll": _iso(self.last_poll_at), "speakers": []}
        status = HealthStatus.OK
        if self.loop_error:  # shown even before the first poll: a loop that dies at once is not silent either
            status = HealthStatus.DEGRADED
            detail["poll_error"] = self.loop_error
            detail["poll_error_at"] = _iso(self.loop_error_at)
        if self.restarts:
            detail["restarts"] = self.restarts
            detail["last_restart"] = self.last_restart
        if not self.enabled:
            detail["note"] = "no Sonos speaker configured"
            return status, detail
        now = self.clock()
        since = self.last_poll_at or self.started_at
        detail["speakers"] = speakers = [asdict(v) for _, v in sorted(self.speakers.items())]
        if any(v["status"] in ("unreachable", "failing") for v in speakers) or self.unsent:
            status = HealthStatus.DEGRADED
        if self.unsent:
            detail["unsent_plays"] = self.unsent
        if (now - since).total_seconds() > 3 * self.interval_s + 30:
            status = HealthStatus.UNHEALTHY
            detail["note"] = f"no poll completed since {_iso(since)}"
        return status, detail
