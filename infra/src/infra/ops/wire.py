"""Pulling a stream over a connection of its own that speaks just enough of the NATS protocol for it.

nats-py spends 12-30 µs on each message it hands over: its parser, a `Msg`, the email parser over the headers, a
queue and a callback task per message. Reading 100k stored events with the two headers services publish took
3 s of CPU, more than the catalog's whole fold. Here one loop parses each chunk the socket gives and builds the
`Stored` records directly (about 6 µs a message with those headers). An ephemeral pull consumer (no acks) is
asked for one window at a time, `no_wait` so that the end of what is stored answers at once (404); the next
window is asked for as soon as one is in, unless the caller has two windows still to take.

It speaks plain TCP with no credentials, a user and password, or a token, as the main connection does. A server
that wants anything else (TLS, nkeys, JWT) gets `Unsupported`, and the caller reads through nats-py instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from .scan import Stored

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

__all__ = ["ReadFailed", "Unsupported", "position", "pull_stream"]

log = logging.getLogger(__name__)

_CRLF = b"\r\n"


class Unsupported(Exception):
    """The reader cannot open a connection of its own the way `nc` did (TLS, nkeys, a JWT, a second connection
    refused): read through nats-py."""


class ReadFailed(RuntimeError):
    """The server refused the reader or went away while it read."""


class _Wire(asyncio.Protocol):
    """The reading connection: parses what arrives into `Stored` records, collected in `arrived`."""

    def __init__(self, stream: str, sid: bytes) -> None:
        self.stream = stream
        self.sid = sid
        self.arrived: list[Stored] = []
        self.pull = b""  # the request for the next window
        self.window = 0
        self.due = 0  # messages still to come for the request in flight
        self.held = False  # a window is in and the next one waits until the caller takes some
        self.exhausted = False  # a request found nothing more (404 No Messages): the end of what is stored
        self.info: dict[str, Any] | None = None
        self.failed: str | None = None
        self.wake = asyncio.Event()
        self.ready = asyncio.Event()  # INFO read, then PONG for our CONNECT
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.failed is None:
            self.failed = f"the connection closed ({exc})" if exc else "the server closed the connection"
        self.ready.set()
        self.wake.set()

    def data_received(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        pos, size, arrived, stream, sid = 0, len(buf), self.arrived, self.stream, self.sid
        while True:
            nl = buf.find(_CRLF, pos)
            if nl < 0:
                break
            if buf.startswith(b"HMSG ", pos):  # HMSG <subject> <sid> [reply-to] <header bytes> <total bytes>
                parts = bytes(buf[pos + 5 : nl]).split()
                hlen, total, with_reply = int(parts[-2]), int(parts[-1]), len(parts) == 5
            elif buf.startswith(b"MSG ", pos):  # MSG <subject> <sid> [reply-to] <bytes>
                parts = bytes(buf[pos + 4 : nl]).split()
                hlen, total, with_reply = 0, int(parts[-1]), len(parts) == 4
            else:
                self._control(bytes(buf[pos:nl]))
                pos = nl + 2
                continue
            end = nl + 2 + total
            if end + 2 > size:
                break  # the rest of this message is still on its way
            head = bytes(buf[nl + 2 : nl + 2 + hlen])
            body = bytes(buf[nl + 2 + hlen : end])
            pos = end + 2
            if parts[1] != sid:
                continue
            if head[8:9] == b" ":  # `NATS/1.0 404 No Messages`: a pull request's status, not a message
                self._status(head[9 : head.find(_CRLF)].decode("utf-8", "replace").strip())
                continue
            arrived.append(_stored(stream, parts[0], parts[2] if with_reply else b"", head, body))
            self.due -= 1
            if self.due == 0:
                self.ask()
        del buf[:pos]
        if arrived or self.exhausted or self.failed:
            self.wake.set()

    def ask(self) -> None:
        """Ask for the next window, unless the caller has two still to take (then `take` asks)."""
        if len(self.arrived) >= 2 * self.window:
            self.held = True
            return
        self.held = False
        self.due = self.window
        self.send(self.pull)

    def take(self) -> list[Stored]:
        batch, self.arrived = self.arrived, []
        if self.held:
            self.ask()
        return batch

    def _status(self, status: str) -> None:
        if status.startswith(("404", "408")):  # nothing (more) stored for the consumer
            self.exhausted = True
            self.due = 0
        else:  # 409 Consumer Deleted, 409 Exceeded MaxRequestBatch, ...
            self.failed = f"the server answered {status}"

    def _control(self, line: bytes) -> None:
        if line.startswith(b"PING"):
            self.send(b"PONG\r\n")
        elif line.startswith(b"PONG"):
            self.ready.set()
        elif line.startswith(b"INFO "):
            if self.info is None:
                self.info = json.loads(line[5:])
                self.ready.set()
        elif line.startswith(b"-ERR"):
            self.failed = line[4:].decode("utf-8", "replace").strip(" '")
            self.ready.set()
            self.wake.set()
        # +OK (verbose mode only) and anything newer are not ours to act on

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)


def _stored(stream: str, subject: bytes, reply: bytes, head: bytes, body: bytes) -> Stored:
    """A delivered message as `Stored`, its position read from the reply subject (`position`)."""
    seq, nanos, pending = position(reply)
    return Stored(stream, seq, subject.decode(), body, head, nanos, pending)


def position(reply: bytes) -> tuple[int, int, int]:
    """Stream sequence, stored time (ns) and messages pending, from a JetStream reply subject as nats-py reads it:
    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`, or with a domain and an account hash
    after `$JS.ACK` (12 tokens; 11 from older servers). The time stays exact, unlike a float's."""
    tokens = reply.split(b".")
    at = 2 if len(tokens) == 9 else 4
    return int(tokens[at + 3]), int(tokens[at + 5]), int(tokens[at + 6])


async def _connect(nc: Client, stream: str, sid: bytes) -> _Wire:
    """A connection to the server `nc` is on, signed in the way `nc` signed in."""
    url = nc.connected_url
    if url is None:
        raise ReadFailed("not connected to NATS")
    opts = nc.options
    signs = getattr(nc, "_signature_cb", None) or getattr(nc, "_user_jwt_cb", None)  # nkeys or a JWT
    if url.scheme not in ("nats", ""):
        raise Unsupported(f"a {url.scheme}:// connection")
    if opts.get("tls"):
        raise Unsupported("TLS")
    if signs:
        raise Unsupported("nkeys or a JWT")
    loop = asyncio.get_running_loop()
    try:
        transport, wire = await asyncio.wait_for(
            loop.create_connection(lambda: _Wire(stream, sid), url.hostname or "127.0.0.1", url.port or 4222), 5
        )
    except (OSError, TimeoutError) as exc:  # `nc` got through; whatever stops a second connection, nats-py reads
        raise Unsupported(f"a second connection to {url.hostname}:{url.port} failed: {exc!r}") from exc
    try:
        try:
            await asyncio.wait_for(wire.ready.wait(), timeout=5)
        except TimeoutError:
            raise Unsupported("the server sent no INFO on a second connection") from None
        info = wire.info or {}
        if wire.failed is not None:
            raise Unsupported(f"the server closed a second connection: {wire.failed}")
        if info.get("tls_required"):
            raise Unsupported("the server asks for TLS")
        connect: dict[str, Any] = {
            "verbose": False,
            "pedantic": False,
            "lang": "python",
            "version": "brainstream-wire",
            "protocol": 1,
            "headers": True,
            "no_responders": True,
            "name": f"{opts.get('name') or 'brainstream'}-read",
        }
        user = url.username or opts.get("user")  # as nats-py sends them (it does not unquote a URL's either)
        password = url.password or opts.get("password")
        if user and password:
            connect |= {"user": user, "pass": password}
        elif user or opts.get("token"):
            connect["auth_token"] = user or opts["token"]
        wire.ready.clear()
        wire.send(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        try:
            await asyncio.wait_for(wire.ready.wait(), timeout=5)
        except TimeoutError:
            raise Unsupported("the server did not answer the reading connection's sign-in") from None
        if wire.failed is not None:  # it let `nc` in, so it wants what `nc` sent and this does not speak
            raise Unsupported(f"the server refused the reading connection: {wire.failed}")
        return wire
    except BaseException:
        transport.close()
        raise


async def pull_stream(
    js: JetStreamContext,
    stream: str,
    *,
    last: int,
    filter_subject: str,
    config: dict[str, Any],
    window: int = 2048,
    idle_s: float = 30.0,
) -> AsyncGenerator[list[Stored], None]:
    """Batches of the stream's messages in sequence order, up to `last`, through an ephemeral pull consumer made
    from `config` (its start) that is removed when reading ends. At most three windows wait for the caller (two
    taken in, one on its way). Raises `Unsupported` before reading anything when the server wants what this does
    not speak, and `ReadFailed` when the server refuses or stops answering.
    """
    nc: Client = js._nc  # the connection to borrow the server and credentials of
    api: str = js._prefix  # `$JS.API`, or `$JS.<domain>.API` for a context opened on a domain
    inbox = f"_INBOX.{secrets.token_hex(11)}"
    sid = b"1"
    wire = await _connect(nc, stream, sid)
    name = None
    try:
        created = await _api(
            nc,
            f"{api}.CONSUMER.CREATE.{stream}",
            {
                "stream_name": stream,
                "config": {
                    **config,
                    "ack_policy": "none",
                    "filter_subject": filter_subject,
                    "inactive_threshold": 60_000_000_000,  # removed by the server if this process dies
                    "mem_storage": True,
                    "num_replicas": 1,
                    "max_batch": window,
                },
            },
        )
        name = created["name"]
        next_subject = f"{api}.CONSUMER.MSG.NEXT.{stream}.{name}".encode()
        request = json.dumps({"batch": window, "no_wait": True}).encode()
        wire.pull = b"PUB %s %s %d\r\n%s\r\n" % (next_subject, inbox.encode(), len(request), request)
        wire.window = window
        wire.send(b"SUB %s %s\r\n" % (inbox.encode(), sid))
        wire.ask()
        while True:
            if not wire.arrived:
                if wire.failed is not None:
                    raise ReadFailed(f"reading {stream}: {wire.failed}")
                if wire.exhausted:
                    return  # the tail was removed (age or size limits) while we read
                wire.wake.clear()
                try:
                    await asyncio.wait_for(wire.wake.wait(), timeout=idle_s)
                except TimeoutError:
                    raise ReadFailed(f"reading {stream}: nothing came for {idle_s:.0f} s") from None
                continue
            batch = wire.take()
            tail = batch[-1]
            if tail.seq >= last or tail.pending == 0:
                yield [s for s in batch if s.seq <= last]
                return
            yield batch
    finally:
        wire.send(b"UNSUB %s\r\n" % sid)
        if wire.transport is not None:
            wire.transport.close()
        if name is not None:
            try:
                await _api(nc, f"{api}.CONSUMER.DELETE.{stream}.{name}", None)
            except Exception as exc:  # noqa: BLE001 - the server removes it after a minute unused anyway
                log.info("the reading consumer %s on %s is left to expire: %s", name, stream, exc)


async def _api(nc: Client, subject: str, body: dict[str, Any] | None) -> dict[str, Any]:
    reply = await nc.request(subject, json.dumps(body).encode() if body is not None else b"", timeout=5)
    answer: dict[str, Any] = json.loads(reply.data)
    if "error" in answer:
        err = answer["error"]
        raise ReadFailed(f"{subject}: {err.get('description', err)} ({err.get('err_code', err.get('code'))})")
    return answer
