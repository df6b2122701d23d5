"""Reading a stream back (`scan_batches`), as replay, trace and the dead-letter tools do.

The reader speaks the NATS protocol itself over a connection of its own; a server that wants more than it speaks
is read through nats-py. Either way the caller gets every stored message once, in order, and no consumer is left.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import nats
import pytest
from nats.js import JetStreamContext

from infra.natsauth import NatsCredentials
from infra.natsserver import find_nats_server, start_nats_server
from infra.ops import wire
from infra.ops.scan import Stored, scan_batches, scan_stream

STREAM = "READBACK"


async def _stream(js: JetStreamContext) -> None:
    await js.add_stream(name=STREAM, subjects=["readback.>"])


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


async def test_a_server_that_wants_a_user_and_password_is_read_by_the_lean_reader(
    guarded: str, caplog: pytest.LogCaptureFixture
) -> None:
    nc = await nats.connect(f"nats://reader:s3cret!@127.0.0.1:{guarded}")
    try:
        js = nc.jetstream()
        await _stream(js)
        await _publish(js, 2500)
        with caplog.at_level(logging.INFO, logger="infra.ops.scan"):
            read = [s.seq async for s in scan_stream(js, STREAM)]
        assert read == list(range(1, 2501))
        assert "through nats-py" not in caplog.text
    finally:
        await nc.close()
    # signed in as the `brainstream` commands sign in to the embedded server: user and password as options
    options = NatsCredentials("reader", "s3cret!").connect_options()
    nc = await nats.connect(f"nats://127.0.0.1:{guarded}", **options)
    try:
        with caplog.at_level(logging.INFO, logger="infra.ops.scan"):
            assert [s.seq async for s in scan_stream(nc.jetstream(), STREAM)] == list(range(1, 2501))
        assert "through nats-py" not in caplog.text
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


async def test_what_the_lean_reader_does_not_speak_is_read_through_nats_py(
    jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def refuse(*_args: object) -> wire._Wire:
        raise wire.Unsupported("the server asks for TLS")

    monkeypatch.setattr(wire, "_connect", refuse)
    await _stream(jetstream)
    await _publish(jetstream, 3000)
    with caplog.at_level(logging.INFO, logger="infra.ops.scan"):
        read = [s async for s in scan_stream(jetstream, STREAM, start_seq=11)]
    assert [s.seq for s in read] == list(range(11, 3001))
    assert read[0].headers == {"Nats-Msg-Id": "readback.a-10", "Kind": "x"}
    assert read[-1].pending == 0 and read[0].stored_at is not None
    assert "through nats-py: the server asks for TLS" in caplog.text
    from_time = [s.seq async for s in scan_stream(jetstream, STREAM, start_time=read[1500].stored_at)]
    assert read[1500].seq - 250 <= from_time[0] <= read[1500].seq and from_time[-1] == 3000


async def test_a_second_connection_that_cannot_be_made_falls_back_to_nats_py(
    jetstream: JetStreamContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _stream(jetstream)
    await _publish(jetstream, 300)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nothing listens on
    port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setattr(type(jetstream._nc), "connected_url", property(lambda _: urlparse(f"nats://127.0.0.1:{port}")))
    with caplog.at_level(logging.INFO, logger="infra.ops.scan"):
        read = [s.seq async for s in scan_stream(jetstream, STREAM)]
    assert read == list(range(1, 301))
    assert f"a second connection to 127.0.0.1:{port} failed" in caplog.text


# the parser, fed the bytes a server sends ---------------------------------------------------------------------------


def _hmsg(subject: str, sid: str, reply: str, head: bytes, body: bytes) -> bytes:
    return f"HMSG {subject} {sid} {reply} {len(head)} {len(head) + len(body)}\r\n".encode() + head + body + b"\r\n"


_FRAMES = (
    b'INFO {"server_id":"x","headers":true}\r\n'
    + _hmsg("readback.a", "1", "$JS.ACK.READBACK.c1.1.7.7.1700000000123456789.2",
            b"NATS/1.0\r\nA: 1\r\nA: 2\r\nB:  two \r\n\r\n", b"hello")
    + b"PING\r\n"
    + b"MSG readback.b 1 $JS.ACK.hub.ACCHASH.READBACK.c1.1.8.8.1700000000223456789.1.rNd 4\r\nbody\r\n"
    + _hmsg("other", "2", "$JS.ACK.READBACK.c1.1.9.9.1.0", b"NATS/1.0\r\n\r\n", b"hi")
    + _hmsg("readback.a", "1", "$JS.ACK.hub.ACCHASH.READBACK.c1.1.9.9.1700000000323456789.0", b"NATS/1.0\r\n\r\n", b"")
)  # fmt: skip


class _Sent:
    def __init__(self) -> None:
        self.out = b""

    def write(self, data: bytes) -> None:
        self.out += data

    def is_closing(self) -> bool:
        return False


def _parse(chunks: list[bytes]) -> tuple[list[Stored], bytes]:
    parser = wire._Wire(STREAM, b"1")
    sent = _Sent()
    parser.transport = sent  # type: ignore[assignment]
    parser.window, parser.due = 10, 10
    for chunk in chunks:
        parser.data_received(chunk)
    return parser.arrived, sent.out


async def test_messages_split_anywhere_across_reads_parse_the_same() -> None:
    whole, answered = _parse([_FRAMES])
    assert [(s.seq, s.subject, s.data, s.pending) for s in whole] == [
        (7, "readback.a", b"hello", 2),
        (8, "readback.b", b"body", 1),  # with a domain and account hash in the reply subject
        (9, "readback.a", b"", 0),
    ]
    assert whole[0].headers == {"A": "2", "B": "two"}
    assert whole[0].stored_at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)  # rounded down
    assert whole[1].headers == {} and whole[2].headers == {}
    assert answered == b"PONG\r\n"
    for cut in range(1, len(_FRAMES)):
        parts, _ = _parse([_FRAMES[:cut], _FRAMES[cut:]])
        assert [(s.seq, s.data, s.head) for s in parts] == [(s.seq, s.data, s.head) for s in whole], cut


def _msg(seq: int, pending: int, body: bytes) -> bytes:
    return f"MSG s 1 $JS.ACK.READBACK.c.1.{seq}.{seq}.5.{pending} {len(body)}\r\n".encode() + body + b"\r\n"


async def test_the_end_of_a_window_asks_for_the_next_and_a_status_ends_or_fails_the_read() -> None:
    parser = wire._Wire(STREAM, b"1")
    sent = _Sent()
    parser.transport = sent  # type: ignore[assignment]
    parser.pull, parser.window, parser.due = b"PULL\r\n", 2, 2
    parser.data_received(
        b"MSG s 1 $JS.ACK.READBACK.c.1.1.1.5.3 1\r\na\r\nMSG s 1 $JS.ACK.READBACK.c.1.2.2.5.2 1\r\nb\r\n"
    )
    assert sent.out == b"PULL\r\n" and parser.due == 2  # one window in: the next is asked for at once
    parser.data_received(
        b"MSG s 1 $JS.ACK.READBACK.c.1.3.3.5.1 1\r\nc\r\nMSG s 1 $JS.ACK.READBACK.c.1.4.4.5.0 1\r\nd\r\n"
    )
    assert sent.out == b"PULL\r\n" and parser.held  # two windows wait for the caller: hold the next
    assert [s.data for s in parser.take()] == [b"a", b"b", b"c", b"d"]
    assert sent.out == b"PULL\r\nPULL\r\n"
    parser.data_received(_hmsg("_INBOX.x", "1", "", b"NATS/1.0 404 No Messages\r\n\r\n", b"").replace(b"  ", b" "))
    assert parser.exhausted and parser.failed is None
    parser.data_received(_hmsg("_INBOX.x", "1", "", b"NATS/1.0 409 Consumer Deleted\r\n\r\n", b"").replace(b"  ", b" "))
    assert parser.failed == "the server answered 409 Consumer Deleted"
