"""Logs: an upstream failure is one line with its reason, a bug a traceback, and repeats are summarised."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nats.js import JetStreamContext

from contracts.common import TrackQuery
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.http import SourceUnavailable
from infra.logs import JsonFormatter, RepeatSummary, configure_logging
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(window_s: float, clock: _Clock) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatSummary(window_s, clock))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.repeat.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return logger, out


def _parsed(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_identical_failures_within_the_window_are_counted_then_summarised() -> None:
    clock = _Clock()
    log, out = _lines(60, clock)
    for _ in range(5):
        log.warning("listens of %s failed: %s", "admin", "listenbrainz unreachable")
        clock.now += 5
    log.warning("listens of %s failed: %s", "bob", "listenbrainz unreachable")  # another message: shown
    log.info("poll done")  # not a failure: never held back
    log.info("poll done")
    clock.now += 60
    log.warning("listens of %s failed: %s", "admin", "listenbrainz unreachable")
    lines = _parsed(out)
    assert [line["msg"].split(" (and")[0] for line in lines] == [
        "listens of admin failed: listenbrainz unreachable",
        "listens of bob failed: listenbrainz unreachable",
        "poll done",
        "poll done",
        "listens of admin failed: listenbrainz unreachable",
    ]
    assert "(and 4 more like it since " in lines[-1]["msg"]
    assert lines[-1]["repeated"] == 4
    assert "repeated" not in lines[0]


def test_a_repeat_key_makes_different_messages_one_failure_and_zero_turns_it_off() -> None:
    clock = _Clock()
    log, out = _lines(60, clock)
    for seq in range(3):
        log.warning("message #%d failed", seq, extra={"repeat_key": "musicbrainz down"})
    assert len(_parsed(out)) == 1
    log, out = _lines(0, clock)
    for _ in range(3):
        log.warning("same")
    assert len(_parsed(out)) == 3


@pytest.fixture
def json_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """The process logging as a service configures it, written to a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    monkeypatch.delenv("BRAINSTREAM_LOG_REPEAT_S", raising=False)
    configure_logging("test-svc", level="INFO", json_lines=True)
    out = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(out)
    try:
        yield out
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])


async def test_upstream_failures_are_one_line_without_traceback_and_a_bug_has_one(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, json_log: io.StringIO
) -> None:
    spec = ConsumerSpec(
        durable="test_logs",
        stream="GATEWAY",
        filter_subjects=["gateway.track.requested"],
        service="resolve-svc",
        description="test consumer",
        max_deliver=2,
        backoff_s=[0.05],
    )
    await provisioned.add_consumer(spec.stream, consumer_config(spec))

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        if event.query.title == "bug":
            raise KeyError("a bug in the handler")
        # each track its own path, one reason: MusicBrainz cannot be reached
        path = f"/ws/2/recording/{event.query.recording_mbid}"
        raise SourceUnavailable("musicbrainz", path, None, "connection_failed", "All connection attempts failed")

    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    try:
        for title in ("a", "b", "c", "bug"):
            query = TrackQuery(recording_mbid=uuid.uuid4(), title=title)
            await runtime.publish(RequestTrack(request_id=uuid.uuid4(), query=query))
        await wait_until(lambda: json_log.getvalue().count("dead-lettered") == 4, timeout=20)
    finally:
        await runtime.stop()

    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    delivery = [line for line in lines if line["logger"] == "infra.runtime.delivery"]
    upstream = [line for line in delivery if "connection_failed" in line["msg"]]
    retries = [line for line in upstream if "retry in" in line["msg"]]
    assert len(retries) == 1, retries  # three tracks, one reason: one line
    assert "musicbrainz" in retries[0]["msg"] and "All connection attempts failed" in retries[0]["msg"]
    assert all("exc" not in line for line in upstream)
    bug = [line for line in delivery if "KeyError" in line["msg"] and line["level"] in ("warning", "error")]
    assert bug and all("Traceback" in line.get("exc", "") for line in bug if "dead-lettered" not in line["msg"])
