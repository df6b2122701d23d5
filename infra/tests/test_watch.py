"""The lag verdicts of ConsumerWatch, without a server: what counts as stuck and what does not."""

from __future__ import annotations

from contracts.health import HealthStatus
from infra.runtime.watch import ConsumerWatch


def _watch(idle_after_s: float = 0.0) -> ConsumerWatch:
    watch = ConsumerWatch("resolve-svc", idle_after_s=idle_after_s)
    watch.track("resolve_candidates", "INGEST")
    return watch


def test_nothing_pending_is_ok_however_long_the_process_idles() -> None:
    watch = _watch()
    watch.observe("resolve_candidates", pending=0, ack_pending=3)  # waiting for back-off redeliveries is fine
    assert watch.check()[0] is HealthStatus.OK


def test_pending_work_while_idle_is_unhealthy_and_says_whether_it_grows() -> None:
    watch = _watch()
    watch.observe("resolve_candidates", pending=2, ack_pending=0)
    watch.observe("resolve_candidates", pending=5, ack_pending=0)
    status, detail = watch.check()
    assert status is HealthStatus.UNHEALTHY
    assert "resolve_candidates has 5 pending and growing" in detail["reason"]
    assert detail["resolve_candidates"]["pending"] == 5


def test_pending_work_while_a_message_is_in_flight_is_not_idle() -> None:
    watch = _watch()
    watch.observe("resolve_candidates", pending=5, ack_pending=1)
    watch.started("resolve_candidates")  # a slow download, not a stuck consumer
    assert watch.check()[0] is HealthStatus.OK
    watch.finished("resolve_candidates")
    assert watch.check()[0] is HealthStatus.UNHEALTHY


def test_pending_work_seen_recently_gets_its_grace_period() -> None:
    watch = _watch(idle_after_s=3600)
    watch.observe("resolve_candidates", pending=5, ack_pending=0)
    assert watch.check()[0] is HealthStatus.OK


def test_a_missing_consumer_is_unhealthy_and_a_failed_read_degraded() -> None:
    watch = _watch(idle_after_s=3600)
    watch.failed("resolve_candidates", "timeout")
    status, detail = watch.check()
    assert status is HealthStatus.DEGRADED and detail["resolve_candidates"]["error"] == "timeout"
    watch.failed("resolve_candidates", "consumer not found", missing=True)
    status, detail = watch.check()
    assert status is HealthStatus.UNHEALTHY and "does not exist" in detail["reason"]
