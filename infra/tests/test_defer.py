"""`Defer`: a handler that waits for a busy source hands its message back for a while instead of holding a worker."""

from __future__ import annotations

import time
import uuid

from nats.js import JetStreamContext

from contracts.common import TrackQuery
from contracts.deadletter import DeadLetterReason
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.ops.deadletters import list_letters
from infra.provision import consumer_config
from infra.runtime import Defer, Delivery, RuntimeSettings, ServiceRuntime
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

SPEC = ConsumerSpec(
    durable="test_defer",
    stream="GATEWAY",
    filter_subjects=["gateway.track.requested"],
    service="resolve-svc",
    description="test consumer",
    max_deliver=3,
    backoff_s=[30.0],  # a failure would wait this long: the deferral's own delay must be what is used
)


class Handler:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, float]] = []
        self.done: list[str] = []

    async def __call__(self, event: RequestTrack, delivery: Delivery) -> None:
        title = event.query.title or ""
        self.seen.append((title, delivery.attempt, time.monotonic()))
        if title == "always busy" or delivery.attempt == 1:
            raise Defer(0.3, "itunes slot in 0.3s")
        self.done.append(title)


async def test_a_deferred_message_comes_back_after_its_delay_and_a_hopeless_one_is_dead_lettered(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    await provisioned.add_consumer(SPEC.stream, consumer_config(SPEC))
    handler = Handler()
    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(SPEC.durable, handler, spec=SPEC)
    await runtime.start()
    try:
        for title in ("busy once", "always busy"):
            await runtime.publish(RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="A", title=title)))
        await wait_until(lambda: handler.done, timeout=10, predicate=lambda d: d == ["busy once"])
        letters = await wait_until(lambda: list_letters(provisioned), timeout=10, predicate=lambda ls: len(ls) == 1)
    finally:
        await runtime.stop()
    once = [(a, t) for title, a, t in handler.seen if title == "busy once"]
    assert [a for a, _ in once] == [1, 2] and once[1][1] - once[0][1] >= 0.25  # its delay, not the 30 s back-off
    assert [a for title, a, _ in handler.seen if title == "always busy"] == [1, 2, 3]
    (letter,) = letters
    assert letter.info is not None and letter.info.reason == DeadLetterReason.EXHAUSTED
    assert "deferred" in letter.info.detail
