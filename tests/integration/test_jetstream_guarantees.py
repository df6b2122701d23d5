"""The JetStream behaviour the design relies on, proven on a real nats-server."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.errors import KeyWrongLastSequenceError

from contracts.common import TrackQuery
from contracts.deadletter import DeadLetter, DeadLetterReason
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime

from ..support.nats import NatsEndpoint
from ..support.wait import wait_until


def _request(title: str) -> RequestTrack:
    return RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="Artist", title=title))


async def test_same_msg_id_is_stored_once(provisioned: JetStreamContext) -> None:
    event = _request("once")
    headers = {"Nats-Msg-Id": str(event.event_id)}
    first = await provisioned.publish(event.subject, event.to_json(), headers=headers)
    second = await provisioned.publish(event.subject, event.to_json(), headers=headers)
    assert not first.duplicate
    assert second.duplicate
    info = await provisioned.stream_info("GATEWAY")
    assert info.state.messages == 1


def _fast_spec(ack_wait_s: float = 30.0) -> ConsumerSpec:
    # a test consumer on the real stream, with back-offs short enough for a test
    return ConsumerSpec(
        durable="test_requests",
        stream="GATEWAY",
        filter_subjects=["gateway.track.requested"],
        service="resolve-svc",
        description="test consumer",
        ack_wait_s=ack_wait_s,
        max_deliver=3,
        backoff_s=[0.05],
    )


async def _dead_letters(js: JetStreamContext) -> list[tuple[DeadLetter, bytes]]:
    info = await js.stream_info("DEADLETTER")
    out = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if info.state.messages == 0:
            break
        msg = await js.get_msg("DEADLETTER", seq)
        out.append((DeadLetter.from_headers(dict(msg.headers or {})), msg.data or b""))
    return out


async def test_failing_handler_is_redelivered_then_dead_lettered_and_the_consumer_goes_on(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    spec = _fast_spec()
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    attempts: dict[str, list[int]] = {}
    handled: list[str] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        title = event.query.title or ""
        attempts.setdefault(title, []).append(delivery.attempt)
        if title == "poison":
            raise RuntimeError("MusicBrainz answered 503")
        handled.append(title)

    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    try:
        poison = _request("poison")
        await runtime.publish(poison)
        await runtime.publish(_request("next"))
        await wait_until(lambda: "next" in handled and len(attempts.get("poison", [])) == 3, timeout=10)
        dead = await wait_until(lambda: _dead_letters(provisioned), timeout=10)
    finally:
        await runtime.stop()

    assert attempts["poison"] == [1, 2, 3]  # redelivered, then given up after max_deliver
    assert handled == ["next"]  # the consumer went on with the next message
    (letter, body), *_ = dead
    assert letter.reason is DeadLetterReason.EXHAUSTED
    assert "MusicBrainz answered 503" in letter.detail
    assert letter.subject == "gateway.track.requested"
    assert letter.deliveries == 3
    assert letter.consumer == spec.durable
    assert RequestTrack.from_json(body) == poison  # the original bytes, ready to be re-driven
    ci = await provisioned.consumer_info(spec.stream, spec.durable)
    assert ci.num_pending == 0
    assert ci.num_ack_pending == 0


async def test_undecodable_bytes_are_dead_lettered_at_once(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    spec = _fast_spec()
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    seen: list[RequestTrack] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        seen.append(event)

    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    try:
        await provisioned.publish("gateway.track.requested", b"\x00\xffnot json")
        await provisioned.publish("gateway.track.requested", b'{"query": {"title": 5}}')
        good = _request("good")
        await runtime.publish(good)
        dead = await wait_until(lambda: _dead_letters(provisioned), timeout=10, predicate=lambda d: len(d) == 2)
        await wait_until(lambda: len(seen) == 1, timeout=10)
    finally:
        await runtime.stop()
    assert {letter.reason for letter, _ in dead} == {DeadLetterReason.UNDECODABLE}
    assert all(letter.deliveries == 1 for letter, _ in dead)  # no pointless retries
    assert "request_id" in dead[1][0].detail
    assert seen == [good]


async def test_final_attempt_lost_to_a_crash_still_reaches_dead_letters(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    spec = _fast_spec(ack_wait_s=0.5)
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    await provisioned.publish("gateway.track.requested", _request("lost").to_json())
    # a process that takes each of the allowed attempts and dies before acking: nothing ever answers the server
    crashed = await provisioned.pull_subscribe_bind(spec.durable, stream=spec.stream)
    for attempt in range(1, spec.max_deliver + 1):
        [msg] = await crashed.fetch(1, timeout=10)
        assert msg.metadata.num_delivered == attempt
    await crashed.unsubscribe()
    attempts: list[int] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        attempts.append(delivery.attempt)

    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    try:
        dead = await wait_until(lambda: _dead_letters(provisioned), timeout=15)
    finally:
        await runtime.stop()
    assert [letter.reason for letter, _ in dead] == [DeadLetterReason.LOST_FINAL_ATTEMPT]
    assert attempts == []  # the extra delivery is only for the record: the handler is not run past its attempts


async def test_a_handler_working_past_ack_wait_is_not_redelivered(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    spec = _fast_spec(ack_wait_s=0.6)
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    attempts: list[int] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        await asyncio.sleep(2.5)  # four times ack_wait, like a long download

    runtime = ServiceRuntime(
        "resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url, BRAINSTREAM_MAX_WORKERS=2)
    )
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    try:
        await runtime.publish(_request("long"))

        async def settled() -> bool:
            info = await provisioned.consumer_info(spec.stream, spec.durable)
            return info.num_ack_pending == 0 and info.delivered.stream_seq > 0

        await wait_until(settled, timeout=20)
    finally:
        await runtime.stop()
    assert attempts == [1]
    assert await _dead_letters(provisioned) == []


async def test_an_attempt_past_its_work_limit_is_cancelled_and_retried(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    spec = _fast_spec().model_copy(update={"work_limit_s": 0.3})
    await provisioned.add_consumer(spec.stream, consumer_config(spec))
    attempts: list[int] = []
    finished: list[int] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt == 1:
            await asyncio.sleep(30)  # hangs: the limit cancels it
        finished.append(delivery.attempt)

    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(spec.durable, handler, spec=spec)
    await runtime.start()
    try:
        await runtime.publish(_request("hangs"))
        await wait_until(lambda: finished or None, timeout=15)
    finally:
        await runtime.stop()
    assert attempts == [1, 2]
    assert finished == [2]


async def test_kv_create_has_exactly_one_winner(provisioned: JetStreamContext) -> None:
    kv = await provisioned.key_value("pipeline_gate")
    key = str(uuid.uuid4())

    async def claim(i: int) -> int | None:
        try:
            await kv.create(key, f"claimant-{i}".encode())
        except KeyWrongLastSequenceError:
            return None
        return i

    results = await asyncio.gather(*(claim(i) for i in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    entry = await kv.get(key)
    assert entry.value == f"claimant-{winners[0]}".encode()  # the losers can read the winner's entry


async def test_kv_create_race_across_connections(nats_endpoint: NatsEndpoint, provisioned: JetStreamContext) -> None:
    import nats

    clients: list[NatsClient] = [await nats.connect(nats_endpoint.url) for _ in range(4)]
    try:
        buckets = [await c.jetstream().key_value("pipeline_gate") for c in clients]
        key = str(uuid.uuid4())

        async def claim(i: int) -> bool:
            try:
                await buckets[i % len(buckets)].create(key, str(i).encode())
            except KeyWrongLastSequenceError:
                return False
            return True

        wins = await asyncio.gather(*(claim(i) for i in range(20)))
    finally:
        for c in clients:
            await c.close()
    assert wins.count(True) == 1


@pytest.mark.parametrize("bucket", ["pipeline_gate", "listen_gate", "ingest_cursors", "settings"])
async def test_provisioning_is_idempotent(provisioned: JetStreamContext, bucket: str) -> None:
    from infra.provision import provision

    kv = await provisioned.key_value(bucket)
    await kv.put("survives", b"1")
    report = await provision(provisioned)
    assert report.created == []
    assert report.updated == []
    assert (await kv.get("survives")).value == b"1"
