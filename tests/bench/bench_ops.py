"""Operator tooling at scale: dead-letter list and re-drive of 10k letters, trace over a stream of 100k events.

A private nats-server (file storage, like `brainstream up`) is provisioned from the contracts; letters are written
the way the runtime writes them (original bytes, `Brainstream-DL-*` headers). Prints letters/s for list and
re-drive, and the latency of `trace` by correlation id and by recording MBID (one pass over every stream; for an
MBID the events of the journeys it names are then read by position). Run with `make bench` or
`uv run python tests/bench/bench_ops.py`; BENCH_OPS_LETTERS and BENCH_OPS_EVENTS scale it.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nats

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from contracts.acquire import TrackDownloaded, TrackTagged
from contracts.base import Message
from contracts.ingest import CandidateDiscovered
from contracts.library import TrackImported
from contracts.resolve import TrackResolved
from infra.natsserver import start_nats_server
from infra.ops.deadletters import list_letters, redrive_all
from infra.ops.trace import trace
from infra.provision import provision
from tests.support.samples import sample

LETTERS = int(os.environ.get("BENCH_OPS_LETTERS", "10000"))
EVENTS = int(os.environ.get("BENCH_OPS_EVENTS", "100000"))
STAGES: tuple[type[Message], ...] = (CandidateDiscovered, TrackResolved, TrackDownloaded, TrackTagged, TrackImported)


async def publish_all(js: nats.js.JetStreamContext, items: list[tuple[str, bytes, dict[str, str]]]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(items), 500):  # pipelined: 500 publishes in flight, each still acknowledged
        await asyncio.gather(*(js.publish(s, d, headers=h) for s, d, h in items[i : i + 500]))
    return time.perf_counter() - t0


def journey(template: dict[type[Message], Message]) -> list[tuple[str, bytes, dict[str, str]]]:
    """One track's five events, with its own correlation id and MBID, from pre-built samples (fast to make)."""
    cid, mbid = str(uuid.uuid4()), str(uuid.uuid4())
    out = []
    for cls in STAGES:
        raw = template[cls].to_json().decode()
        raw = raw.replace(str(template[cls].correlation_id), cid).replace(
            str(template[cls].event_id), str(uuid.uuid4())
        )
        body = raw.replace(str(_MBID), mbid)
        out.append((cls.subject, body.encode(), {}))
    return out


_MBID = uuid.uuid4()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats_server(Path(tmp), max_file_store=4096 * 1024 * 1024)
        try:
            nc = await nats.connect(server.url)
            js = nc.jetstream()
            await provision(js)
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

            # dead letters -------------------------------------------------------------------------------------
            letters = []
            for i in range(LETTERS):
                event = sample(TrackResolved)
                headers = {"Nats-Msg-Id": f"dl:RESOLVE:{i + 1}:acquire_resolved",
                           "Brainstream-DL-Reason": "exhausted", "Brainstream-DL-Detail": "RuntimeError: 503",
                           "Brainstream-DL-Subject": event.subject, "Brainstream-DL-Stream": "RESOLVE",
                           "Brainstream-DL-Sequence": str(i + 1), "Brainstream-DL-Consumer": "acquire_resolved",
                           "Brainstream-DL-Deliveries": "5",
                           "Brainstream-DL-Failed-At": event.occurred_at.isoformat()}  # fmt: skip
                letters.append((f"deadletter.{event.subject}", event.to_json(), headers))
            took = await publish_all(js, letters)
            print(f"wrote {LETTERS} dead letters in {took:.2f}s")
            t0 = time.perf_counter()
            listed = await list_letters(js)
            t_list = time.perf_counter() - t0
            assert len(listed) == LETTERS, len(listed)
            print(f"dlq list:    {LETTERS} letters in {t_list:.2f}s = {LETTERS / t_list:,.0f} letters/s")
            t0 = time.perf_counter()
            report = await redrive_all(js)
            t_redrive = time.perf_counter() - t0
            assert len(report.redriven) == LETTERS and not report.failed, report.failed
            assert (await js.stream_info("DEADLETTER")).state.messages == 0
            print(f"dlq redrive: {LETTERS} letters in {t_redrive:.2f}s = {LETTERS / t_redrive:,.0f} letters/s")

            # trace --------------------------------------------------------------------------------------------
            template = {cls: sample(cls, **({"recording_mbid": str(_MBID)} if "recording_mbid" in cls.model_fields
                                            else {"track": sample(TrackResolved).track.model_dump(mode="json")
                                                  | {"recording_mbid": str(_MBID)}}))
                        for cls in STAGES}  # fmt: skip
            events: list[tuple[str, bytes, dict[str, str]]] = []
            while len(events) < EVENTS:
                events.extend(journey(template))
            events = events[:EVENTS]
            took = await publish_all(js, events)
            print(f"wrote {len(events)} events ({len(events) // len(STAGES)} journeys) in {took:.2f}s")
            picks = [events[len(events) // 2 + k * len(STAGES)] for k in range(3)]  # journeys mid-stream
            by_cid, by_mbid = [], []
            for _, body, _ in picks:
                doc = json.loads(body)
                t0 = time.perf_counter()
                found = await trace(js, doc["correlation_id"])
                by_cid.append(time.perf_counter() - t0)
                assert len(found) == len(STAGES), len(found)
                t0 = time.perf_counter()
                found = await trace(js, doc["recording_mbid"])
                by_mbid.append(time.perf_counter() - t0)
                assert len(found) == len(STAGES), len(found)
            total = len(events) + LETTERS  # the re-driven letters are events on RESOLVE now
            print(f"trace by correlation id over {total:,} stored events: median {statistics.median(by_cid):.2f}s "
                  f"({total / statistics.median(by_cid):,.0f} events/s scanned)")  # fmt: skip
            print(f"trace by recording MBID over {total:,} stored events: median {statistics.median(by_mbid):.2f}s "
                  f"(one pass, then the journey's events by position)")  # fmt: skip
            await nc.close()
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
