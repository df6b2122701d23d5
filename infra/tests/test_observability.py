"""Metrics gathered from every replica over NATS, health that notices idle lag and stalled loops, and logs that
carry the correlation id of the track they are about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from prometheus_client.parser import text_string_to_metric_families

from contracts.common import TrackQuery
from contracts.gateway import RequestTrack
from contracts.health import HealthStatus
from contracts.topology import ConsumerSpec
from infra.http import ApiClient, HttpSettings, IntervalLimiter
from infra.logs import configure_logging
from infra.metrics import cache_hit, cache_miss, gather_metrics, set_process_service
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until


def _spec(durable: str) -> ConsumerSpec:
    return ConsumerSpec(
        durable=durable,
        stream="GATEWAY",
        filter_subjects=["gateway.track.requested"],
        service="resolve-svc",
        description="test consumer",
        max_deliver=2,
        backoff_s=[0.05],
    )


def _request(title: str) -> RequestTrack:
    return RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="Artist", title=title))


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [(s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples if s.name == name]


@pytest.fixture
async def runtimes(nats_endpoint: NatsEndpoint) -> AsyncIterator[list[ServiceRuntime]]:
    started: list[ServiceRuntime] = []
    yield started
    for runtime in started:
        await runtime.stop()


async def _start(
    runtimes: list[ServiceRuntime], url: str, service: str = "resolve-svc", **settings: object
) -> ServiceRuntime:
    runtime = ServiceRuntime(service, "test", RuntimeSettings(NATS_URL=url, **settings))
    runtimes.append(runtime)
    return runtime


async def test_gather_metrics_merges_every_replica_with_events_requests_caches_and_lag(
    provisioned: JetStreamContext,
    nats_client: NatsClient,
    nats_endpoint: NatsEndpoint,
    runtimes: list[ServiceRuntime],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = _spec("test_metrics")
    await provisioned.add_consumer(spec.stream, consumer_config(spec))

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        if event.query.title == "bad":
            raise RuntimeError("boom")

    one = await _start(runtimes, nats_endpoint.url)
    two = await _start(runtimes, nats_endpoint.url)
    other = await _start(runtimes, nats_endpoint.url, service="acquire-svc")
    one.consume(spec.durable, handler, spec=spec)
    for runtime in runtimes:
        await runtime.start()
    for title in ("a", "b", "bad"):
        await one.publish(_request(title))
    await provisioned.publish("gateway.track.requested", b"garbage")
    await wait_until(lambda: provisioned.stream_info("DEADLETTER"), predicate=lambda i: i.state.messages == 2)
    await one.refresh_lag()

    set_process_service("resolve-svc")
    cache_hit("musicbrainz")
    cache_hit("musicbrainz")
    cache_miss("musicbrainz")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if request.url.path == "/ok" else 404, json={})

    api = ApiClient("fakeapi", "http://fake.invalid", HttpSettings(BRAINSTREAM_HTTP_RETRIES=0),
                    limiter=IntervalLimiter(0.05), transport=httpx.MockTransport(answer))  # fmt: skip
    async with api:
        await api.get_json("/ok")
        await api.get_json("/ok")  # waits for the limiter's slot
        with pytest.raises(Exception, match="not_found"):
            await api.get_json("/missing")

    text = await gather_metrics(nats_client, window_s=0.5)

    assert text.count("# HELP brainstream_events_handled_total ") == 1  # one family, however many replicas
    handled = [
        (lab, v) for lab, v in _samples(text, "brainstream_events_handled_total") if lab["consumer"] == spec.durable
    ]
    instances = {lab["instance"] for lab, _ in handled}
    assert instances == {one.instance, two.instance}  # both replicas of resolve-svc answered
    assert all(v == 2.0 and lab["subject"] == "gateway.track.requested" for lab, v in handled)
    failed = {(lab["reason"], lab["instance"]): v for lab, v in _samples(text, "brainstream_events_failed_total")
              if lab["consumer"] == spec.durable}  # fmt: skip
    assert failed[("error", one.instance)] == 1.0  # the first attempt of "bad", redelivered
    assert failed[("exhausted", one.instance)] == 1.0
    assert failed[("undecodable", one.instance)] == 1.0
    counts = [v for lab, v in _samples(text, "brainstream_event_handling_seconds_count")
              if lab["consumer"] == spec.durable and lab["instance"] == one.instance]  # fmt: skip
    assert counts == [4.0]  # a, b and two attempts of bad; undecodable bytes never reach the handler

    requests = {(lab["api"], lab["status"]): v for lab, v in _samples(text, "brainstream_external_requests_total")
                if lab["instance"] == one.instance}  # fmt: skip
    assert requests[("fakeapi", "200")] >= 2.0 and requests[("fakeapi", "404")] >= 1.0
    waits = [v for lab, v in _samples(text, "brainstream_rate_limit_waits_total") if lab["api"] == "fakeapi"]
    assert waits and waits[0] >= 1.0
    hits = {lab["result"]: v for lab, v in _samples(text, "brainstream_cache_lookups_total")
            if lab["cache"] == "musicbrainz" and lab["instance"] == one.instance}  # fmt: skip
    assert hits["hit"] >= 2.0 and hits["miss"] >= 1.0
    pending = [lab for lab, v in _samples(text, "brainstream_consumer_pending") if lab["consumer"] == spec.durable]
    assert pending  # refreshed from the server

    from typer.testing import CliRunner

    from infra.cli import app

    monkeypatch.setenv("NATS_URL", nats_endpoint.url)
    printed = await asyncio.to_thread(CliRunner().invoke, app, ["metrics", "--window", "0.5"])
    assert printed.exit_code == 0, printed.output
    assert {lab["instance"] for lab, _ in _samples(printed.stdout, "process_resident_memory_bytes")} >= {
        one.instance,
        two.instance,
        other.instance,
    }

    acquire = {lab["instance"] for lab, _ in _samples(text, "process_resident_memory_bytes") if "instance" in lab}
    assert other.instance in acquire  # every service answers, not only the one with events
    assert not [
        lab for lab, _ in _samples(text, "brainstream_events_handled_total") if lab["instance"] == other.instance
    ]


async def test_idle_lag_makes_the_service_unhealthy_until_work_flows_again(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, runtimes: list[ServiceRuntime]
) -> None:
    spec = _spec("test_lag")
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    handled: list[str] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        handled.append(event.query.title or "")

    runtime = await _start(runtimes, nats_endpoint.url, BRAINSTREAM_LAG_REFRESH=0.1, BRAINSTREAM_IDLE_LAG_AFTER=0.5)
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    await runtime.publish(_request("first"))
    await wait_until(lambda: handled == ["first"])
    assert (await runtime.health()).status is HealthStatus.OK

    # the consumer stops getting messages (here: paused on the server) while work keeps arriving
    until = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    await provisioned._jsm.pause_consumer(spec.stream, spec.durable, until)  # type: ignore[attr-defined]
    for title in ("x", "y", "z"):
        await runtime.publish(_request(title))
    report = await wait_until(runtime.health, timeout=10, predicate=lambda r: r.status is HealthStatus.UNHEALTHY)
    reason = report.checks["consumers"]["reason"]
    assert "consumer test_lag has 3 pending" in reason and "handled nothing" in reason

    await provisioned._jsm.resume_consumer(spec.stream, spec.durable)  # type: ignore[attr-defined]
    await wait_until(lambda: len(handled) == 4, timeout=15)
    await wait_until(runtime.health, timeout=10, predicate=lambda r: r.status is HealthStatus.OK)


async def test_a_stalled_loop_makes_the_service_unhealthy_with_its_name(
    nats_endpoint: NatsEndpoint, runtimes: list[ServiceRuntime]
) -> None:
    runtime = await _start(runtimes, nats_endpoint.url)
    await runtime.start()
    beat = runtime.loop_heartbeat("listen_poller", stall_after_s=0.3)
    beat.beat()
    assert (await runtime.health()).status is HealthStatus.OK
    report = await wait_until(runtime.health, timeout=5, predicate=lambda r: r.status is HealthStatus.UNHEALTHY)
    assert "loop listen_poller stalled" in report.checks["loop:listen_poller"]["reason"]
    beat.beat()
    assert (await runtime.health()).status is HealthStatus.OK


async def test_every_log_line_about_an_event_carries_its_correlation_id(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, runtimes: list[ServiceRuntime]
) -> None:
    spec = _spec("test_logs")
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("resolve-svc", level="INFO", json_lines=True)
    out = io.StringIO()
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    handler_log = logging.getLogger("resolve_svc.handlers")
    done: list[str] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        handler_log.info("resolving %s", event.query.title)
        if event.query.title == "fails":
            raise RuntimeError("MusicBrainz answered 503")
        done.append(event.query.title or "")

    try:
        runtime = await _start(runtimes, nats_endpoint.url)
        runtime.consume(spec.durable, handler, spec=spec)
        await runtime.start()
        ok, fails = _request("ok"), _request("fails")
        await runtime.publish(ok)
        await runtime.publish(fails)
        broken_cid = str(uuid.uuid4())
        await provisioned.publish("gateway.track.requested", json.dumps({"correlation_id": broken_cid}).encode())
        await wait_until(lambda: provisioned.stream_info("DEADLETTER"), predicate=lambda i: i.state.messages == 2)
        await wait_until(lambda: done == ["ok"])
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    about = [r for r in lines if r["logger"] in ("resolve_svc.handlers", "infra.runtime.delivery")]
    assert len([r for r in about if r["logger"] == "resolve_svc.handlers"]) == 3  # ok, fails twice
    assert any("dead-lettered" in r["msg"] for r in about) and any("retry in" in r["msg"] for r in about)
    for record in about:
        if "ok" in record["msg"]:
            assert record["correlation_id"] == str(ok.correlation_id)
        elif "undecodable" in record["msg"]:
            assert record["correlation_id"] == broken_cid  # read from the raw body
        else:
            assert record["correlation_id"] == str(fails.correlation_id), record


def test_logged_urls_lose_their_query_and_user_info(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.logs import redact_urls

    assert redact_urls("GET http://127.0.0.1:9/a.mp3?sig=s3cret&x=1 failed") == (
        "GET http://127.0.0.1:9/a.mp3?<redacted> failed"
    )
    assert redact_urls("'http://bob:pw@127.0.0.1/x?t=1#f'") == "'http://<redacted>@127.0.0.1/x?<redacted>#f'"
    assert redact_urls("no URL?here=1") == "no URL?here=1"
    for json_lines in (True, False):
        configure_logging("test-svc", json_lines=json_lines)
        try:
            raise ValueError("fetch of http://127.0.0.1:9/song.mp3?token=s3cret refused")
        except ValueError:
            logging.getLogger("t").exception("backend url fetch of %s failed", "http://127.0.0.1:9/s.mp3?key=s3cret")
        err = capsys.readouterr().err
        assert "s3cret" not in err and "http://127.0.0.1:9/s.mp3?<redacted>" in err
