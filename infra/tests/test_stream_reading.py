"""Reading a stream back (`scan_batches`), as replay, trace and the dead-letter tools do.

The reader is nats-py's pull consumer on the caller's connection, so it signs in as the caller did. The caller gets
every stored message once, in order, and no consumer is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from infra.natsauth import NatsCredentials
from infra.natsserver import find_nats_server, start_nats_server
from infra.ops.scan import Stored, position, scan_batches, scan_stream
from infra.provision import create_when_store_ready

STREAM = "READBACK"


async def _stream(js: JetStreamContext) -> None:
    # the same name as the previous test's stream, deleted a moment ago
    await create_when_store_ready(lambda: js.add_stream(name=STREAM, subjects=["readback.>"]))


async def _publish(js: JetStreamContext, n: int, subject: str = "readback.a", first: int = 0) -> None:
    for i in range(first, first + n, 250):
        await asyncio.gather(
            *(
                js.publish(subject, f"event {k}".encode(), headers={"Nats-Msg-Id": f"{subject}-{k}", "Kind": "x"})
                for k in range(i, min(i + 250, first + n))
            )
        )


async def _read(js: JetStreamContext, **kwargs: object) -> list[list[Stored]]:
    return [batch async for batch in scan_batches(js, STREAM, **kwargs)]  # type: ignore[arg-type]


async def test_every_message_once_in_order_with_its_headers_time_and_subject(jetstream: JetStreamContext) -> None:
    await _stream(jetstream)
    before = datetime.now(UTC) - timedelta(seconds=1)
    await _publish(jetstream, 5000, "readback.a")
    await _publish(jetstream, 300, "readback.b")
    await _publish(jetstream, 1000, "readback.a", first=5000)

    batches = await _read(jetstream, subject="readback.a")

    read = [s for batch in batches for s in batch]
    assert [s.data for s in read] == [f"event {k}".encode() for k in range(6000)]
    assert [s.seq for s in read] == [*range(1, 5001), *range(5301, 6301)]
    assert len(batches) > 1  # more than one pull window
    assert {s.subject for s in read} == {"readback.a"}
    assert read[0].headers == {"Nats-Msg-Id": "readback.a-0", "Kind": "x"}
    assert read[-1].pending == 0 and read[0].pending == 5999
    assert read[0].stored_at is not None and before <= read[0].stored_at <= datetime.now(UTC)
    assert (await jetstream.stream_info(STREAM)).state.consumer_count == 0  # the reading consumer is gone


async def test_from_a_sequence_or_a_time_and_only_what_was_stored_when_it_began(jetstream: JetStreamContext) -> None:
    await _stream(jetstream)
    await _publish(jetstream, 3000)
    assert [s.seq async for s in scan_stream(jetstream, STREAM, start_seq=2990)] == list(range(2990, 3001))
    stored_1500 = (await _read(jetstream, start_seq=1500))[0][0].stored_at
    assert stored_1500 is not None
    from_time = [s.seq async for s in scan_stream(jetstream, STREAM, start_time=stored_1500)]
    assert from_time[0] <= 1500 and from_time[-1] == 3000

    seen = 0
    async for batch in scan_batches(jetstream, STREAM):
        if not seen:
            await _publish(jetstream, 500, first=3000)  # arrives while reading: not part of this scan
        seen += len(batch)
    assert seen == 3000


async def test_messages_removed_before_they_are_read_end_the_scan_at_once(jetstream: JetStreamContext) -> None:
    await _stream(jetstream)
    await _publish(jetstream, 100)
    for seq in range(90, 101):
        await jetstream.delete_msg(STREAM, seq)

    read = await asyncio.wait_for(_read(jetstream), timeout=10)  # a guard against hanging, not a speed check
    assert [s.seq for b in read for s in b] == list(range(1, 90))

    for seq in range(50, 90):
        await jetstream.delete_msg(STREAM, seq)
    tail = await asyncio.wait_for(_read(jetstream, start_seq=60), timeout=10)
    assert tail == []


@pytest.fixture
async def guarded(tmp_path: Path) -> AsyncIterator[str]:
    """A server of its own that wants a user and password (its port, to build URLs with)."""
    find_nats_server()
    server = start_nats_server(tmp_path, extra_config='authorization { user: reader, password: "s3cret!" }\n')
    try:
        yield server.url.rsplit(":", 1)[1]
    finally:
        server.stop()


async def test_a_server_that_wants_a_user_and_password_is_read_with_the_callers_sign_in(guarded: str) -> None:
    nc = await nats.connect(f"nats://reader:s3cret!@127.0.0.1:{guarded}")
    try:
        js = nc.jetstream()
        await _stream(js)
        await _publish(js, 2500)
        read = [s.seq async for s in scan_stream(js, STREAM)]
        assert read == list(range(1, 2501))
    finally:
        await nc.close()
    # signed in as the `brainstream` commands sign in to the embedded server: user and password as options
    options = NatsCredentials("reader", "s3cret!").connect_options()
    nc = await nats.connect(f"nats://127.0.0.1:{guarded}", **options)
    try:
        assert [s.seq async for s in scan_stream(nc.jetstream(), STREAM)] == list(range(1, 2501))
    finally:
        await nc.close()


async def test_a_token_is_sent_as_nats_py_sends_it(tmp_path: Path) -> None:
    server = start_nats_server(tmp_path, extra_config='authorization { token: "t0ken" }\n')
    try:
        nc = await nats.connect(server.url, token="t0ken")
        js = nc.jetstream()
        await _stream(js)
        await _publish(js, 10)
        assert [s.seq async for s in scan_stream(js, STREAM)] == list(range(1, 11))
        await nc.close()
    finally:
        server.stop()


async def test_a_reader_stopped_half_way_leaves_no_consumer(jetstream: JetStreamContext) -> None:
    await _stream(jetstream)
    await _publish(jetstream, 3000)
    seen = 0
    async with contextlib.aclosing(scan_batches(jetstream, STREAM, batch=500)) as batches:
        async for batch in batches:
            seen += len(batch)
            break
    assert 0 < seen < 3000
    assert (await jetstream.stream_info(STREAM)).state.consumer_count == 0


def test_the_position_is_read_from_the_reply_subject_with_or_without_a_domain() -> None:
    assert position(b"$JS.ACK.READBACK.c1.1.7.7.1700000000123456789.2") == (7, 1700000000123456789, 2)
    assert position(b"$JS.ACK.hub.ACCHASH.READBACK.c1.1.8.8.1700000000223456789.1.rNd") == (8, 1700000000223456789, 1)
    stored = Stored(STREAM, 7, "readback.a", b"", {}, 1700000000123456789)
    assert stored.stored_at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)  # rounded down
