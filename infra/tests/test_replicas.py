"""Replicas of a service share its durable consumer: every event is handled by exactly one of them."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

from nats.js import JetStreamContext

from contracts.common import TrackQuery
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

SPEC = ConsumerSpec(
    durable="test_replicas",
    stream="GATEWAY",
    filter_subjects=["gateway.track.requested"],
    service="resolve-svc",
    description="shared by three replicas",
)


async def test_three_replicas_share_the_work_and_handle_no_event_twice(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    await provisioned.add_consumer(SPEC.stream, consumer_config(SPEC))
    handled: list[tuple[str, uuid.UUID]] = []

    def handler_for(instance: str):  # type: ignore[no-untyped-def]
        async def handle(event: RequestTrack, delivery: Delivery) -> None:
            await asyncio.sleep(0.01)  # real work takes a moment; a replica that is busy leaves the next to others
            handled.append((instance, event.event_id))

        return handle

    # one message per fetch, as a replica pulling a batch of 10 would hold work the others could do
    settings = RuntimeSettings(NATS_URL=nats_endpoint.url, BRAINSTREAM_FETCH_BATCH=1)
    replicas = [ServiceRuntime("resolve-svc", "test", settings) for _ in range(3)]
    for runtime in replicas:
        runtime.consume(SPEC.durable, handler_for(runtime.instance), spec=SPEC)
        await runtime.start()
    try:
        events = [RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(title=f"t{i}")) for i in range(90)]
        for event in events:
            await replicas[0].publish(event)
        await wait_until(lambda: len(handled) >= len(events), timeout=30)
        info = await wait_until(
            lambda: provisioned.consumer_info(SPEC.stream, SPEC.durable),
            predicate=lambda i: i.num_ack_pending == 0 and i.num_pending == 0,
        )
    finally:
        for runtime in replicas:
            await runtime.stop()

    ids = Counter(event_id for _, event_id in handled)
    assert set(ids) == {e.event_id for e in events}
    assert [i for i, n in ids.items() if n > 1] == []  # none handled twice
    per_replica = Counter(instance for instance, _ in handled)
    assert set(per_replica) == {r.instance for r in replicas}, per_replica  # all three took part
    assert info.num_redelivered == 0
