"""A process holds only the messages it is handling, so a short ack_wait never redelivers one still queued."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from nats.js import JetStreamContext

from contracts.common import TrackQuery
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

SPEC = ConsumerSpec(
    durable="test_puller",
    stream="GATEWAY",
    filter_subjects=["gateway.track.requested"],
    service="resolve-svc",
    description="test consumer",
    ack_wait_s=2.0,
)


async def test_only_what_the_workers_handle_is_held_and_nothing_is_redelivered(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    await provisioned.add_consumer(SPEC.stream, consumer_config(SPEC))
    release = asyncio.Event()
    seen: list[tuple[str, int]] = []

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        seen.append((event.query.title or "", delivery.attempt))
        await release.wait()

    # two workers, a fetch batch of ten, six messages: far past ack_wait before the last ones start
    settings = RuntimeSettings(NATS_URL=nats_endpoint.url, BRAINSTREAM_MAX_WORKERS=2, BRAINSTREAM_FETCH_BATCH=10)
    runtime = ServiceRuntime("resolve-svc", "test", settings)
    runtime.consume(SPEC.durable, handler, spec=SPEC)
    await runtime.start()
    try:
        for i in range(6):
            await runtime.publish(RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(title=f"t{i}")))
        await wait_until(lambda: len(seen) == 2, timeout=10)
        await asyncio.sleep(2 * SPEC.ack_wait_s)  # long enough for anything held unseen to come back
        info = await provisioned.consumer_info(SPEC.stream, SPEC.durable)
        assert (info.num_ack_pending, info.num_pending) == (2, 4)  # held: only the two in handlers
        assert len(seen) == 2
        release.set()
        await wait_until(lambda: len(seen) == 6, timeout=10)
    finally:
        await runtime.stop()
    assert all(attempt == 1 for _, attempt in seen), seen  # kept alive while at work, never redelivered
    info = await provisioned.consumer_info(SPEC.stream, SPEC.durable)
    assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (0, 0, 0)


async def test_a_consumer_that_was_not_provisioned_is_an_error_with_the_remedy(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        return None

    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(SPEC.durable, handler, spec=SPEC.model_copy(update={"durable": "never_provisioned"}))
    try:
        with pytest.raises(RuntimeError, match="never_provisioned does not exist: provision first"):
            await runtime.start()
    finally:
        await runtime.broker.stop()
