"""The stream reader's cost per message, by nats-py API: what `infra.ops.scan.scan_batches` uses (the ordered
consumer, messages gathered by its callback) against a pull consumer's `fetch` and a pull consumer whose batches a
plain subscription takes. The messages carry the two headers services publish. Prints the CPU time of this process
per message (it hardly moves with the machine's load, unlike the wall time). Run with `make bench` or
`uv run python tests/bench/bench_stream_reader.py`; BENCH_READER_MESSAGES (default 50000), BENCH_READER_ROUNDS (3).
See docs/benchmarks/clients.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from infra.natsserver import start_nats_server
from infra.ops.scan import Stored, position, scan_batches

MESSAGES = int(os.environ.get("BENCH_READER_MESSAGES", "50000"))
ROUNDS = int(os.environ.get("BENCH_READER_ROUNDS", "3"))
STREAM = "READER"


async def ordered(js: JetStreamContext, _nc: Client) -> int:
    n = 0
    async for batch in scan_batches(js, STREAM):
        n += len(batch)
    return n


async def fetch(js: JetStreamContext, _nc: Client, size: int = 4096) -> int:
    config = ConsumerConfig(ack_policy=AckPolicy.NONE, mem_storage=True, num_replicas=1)
    sub = await js.pull_subscribe("reader.>", stream=STREAM, config=config)
    name = (await sub.consumer_info()).name
    n = 0
    while True:
        msgs = await sub.fetch(size, timeout=5)
        out = [_stored(m) for m in msgs]
        n += len(out)
        if out[-1].pending == 0:
            break
    await sub.unsubscribe()
    await js.delete_consumer(STREAM, name)
    return n


async def pull_by_callback(js: JetStreamContext, nc: Client, size: int = 4096) -> int:
    """The pull requests written to the `$JS.API` subject by hand, the messages taken by a plain subscription."""
    info = await js.add_consumer(STREAM, ConsumerConfig(ack_policy=AckPolicy.NONE, mem_storage=True, num_replicas=1))
    inbox, done, got = nc.new_inbox(), asyncio.Event(), [0]
    request = json.dumps({"batch": size, "no_wait": True}).encode()
    subject = f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{info.name}"

    async def on(msg: Msg) -> None:
        if not msg.reply:
            return  # a status
        stored = _stored(msg)
        got[0] += 1
        if stored.pending == 0:
            done.set()
        elif got[0] % size == 0:
            await nc.publish(subject, request, reply=inbox)

    sub = await nc.subscribe(inbox, cb=on, pending_msgs_limit=1_000_000)
    await nc.publish(subject, request, reply=inbox)
    await done.wait()
    await sub.unsubscribe()
    await js.delete_consumer(STREAM, info.name)
    return got[0]


def _stored(msg: Msg) -> Stored:
    seq, nanos, pending = position((msg.reply or "").encode())
    return Stored(STREAM, seq, msg.subject, msg.data, msg.headers or {}, nanos, pending)


async def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats_server(Path(tmp))
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            await js.add_stream(name=STREAM, subjects=["reader.>"])
            for i in range(0, MESSAGES, 500):
                await asyncio.gather(
                    *(
                        js.publish("reader.a", b"x" * 300, headers={"Nats-Msg-Id": f"m-{k}", "Content-Type": "a/b"})
                        for k in range(i, min(i + 500, MESSAGES))
                    )
                )
            ways = {
                "ordered consumer (scan_batches)": ordered,
                "pull, fetch(4096)": fetch,
                "pull, callback": pull_by_callback,
            }
            for run in range(ROUNDS):
                for name, way in ways.items():
                    wall, cpu = time.perf_counter(), time.process_time()
                    n = await way(js, nc)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    assert n == MESSAGES, (name, n)
                    print(f"round {run + 1} {name:<32} {cpu / n * 1e6:5.1f} us CPU a message   {wall:5.2f} s wall   "
                          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
        finally:
            await nc.close()
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
