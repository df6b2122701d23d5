"""Ingest 100k listens from a fake ListenBrainz at 1000 per page, into a real nats-server.

The whole listen path of ingest-svc runs: the ListenBrainz feed (min_ts paging with a one-second overlap), the
`listen_gate` claim, `ListenRecorded` published with its Nats-Msg-Id, the gate marked done, and the cursor saved in
`ingest_cursors` after each page. The fake runs in its own process (so its JSON encoding does not share this
process's interpreter) and generates listens lazily, so its memory is not counted.

ListenBrainz asks for 1 request/s. By default the fake does not enforce it and the client's limiter is set to 0,
so the figure is ingest-svc's own throughput; the 1 req/s cost is reported separately (requests x 1 s).
`BENCH_LB_INTERVAL=1.0` keeps the real limiter instead.

Prints: listens/s, peak RSS of this process, requests made against the minimum possible.
Run with `make bench` (or `uv run python tests/bench/bench_ingest_listens.py`). `BENCH_LISTENS` changes the count.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nats

from contracts.livesettings import UserAccounts
from infra.http import ApiClient, HttpSettings, IntervalLimiter
from infra.natsserver import start_nats_server
from infra.provision import provision
from ingest_svc.adapters.kv import KvCursorStore, KvListenGate
from ingest_svc.adapters.listen_feeds import ListenBrainzFeed
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.health import SourceHealth
from ingest_svc.service import ListenService

LISTENS = int(os.environ.get("BENCH_LISTENS", "100000"))
PAGE = 1000
LB_INTERVAL = float(os.environ.get("BENCH_LB_INTERVAL", "0"))
T0 = 1_600_000_000
STEP = 30  # seconds between two listens


def _listen(i: int) -> dict[str, Any]:
    msid = f"00000000-0000-4000-8000-{i:012d}"
    return {
        "listened_at": T0 + i * STEP,
        "recording_msid": msid,
        "track_metadata": {
            "artist_name": f"Artist {i % 997}",
            "track_name": f"Track {i}",
            "release_name": f"Album {i % 131}",
            "additional_info": {"recording_msid": msid, "duration_ms": 200_000 + i % 1000, "isrc": f"GBAFL{i:07d}"},
            "mbid_mapping": {"recording_mbid": f"11111111-0000-4000-8000-{i:012d}"},
        },
        "user_name": "bench",
    }


def _serve(port_q: Any, stop_q: Any) -> None:
    from tests.support.fakeweb import FakeWeb, Reply, Request

    def listens(req: Request) -> Reply:
        min_ts = int(req.query.get("min_ts", ["0"])[0])
        count = int(req.query.get("count", ["25"])[0])
        first = max(0, (min_ts - T0) // STEP + 1) if min_ts >= T0 else 0
        page = [_listen(i) for i in range(first, min(LISTENS, first + count))]
        page.reverse()  # ListenBrainz answers newest first
        return Reply(json={"payload": {"count": len(page), "listens": page, "user_id": "bench"}})

    with FakeWeb() as web:
        web.route("GET", "/1/user/bench/listens", listens)
        port_q.put(web.base_url)
        stop_q.get()
        port_q.put(len(web.requests))


async def run(base_url: str, nats_url: str) -> tuple[float, int, int, int]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision(js)
    http = HttpSettings(BRAINSTREAM_HTTP_TIMEOUT=30)
    async with ApiClient("listenbrainz", base_url, http, limiter=IntervalLimiter(LB_INTERVAL)) as client:
        service = ListenService(
            await KvCursorStore.open(js),
            await KvListenGate.open(js),
            _Publisher(js),
            SourceHealth(),
            lookback_s=0,
            concurrency=int(os.environ.get("BENCH_CONCURRENCY", "256")),
        )
        feed = ListenBrainzFeed(ListenBrainz(client), page_size=PAGE)
        t0 = time.perf_counter()
        result = await service.poll("bench", UserAccounts(username="bench", listenbrainz_user="bench"), feed, 0)
        elapsed = time.perf_counter() - t0
        requests = client.stats.total
    stored = (await js.stream_info("INGEST")).state.messages
    await nc.close()
    return elapsed, result.recorded, requests, stored


class _Publisher:
    def __init__(self, js: Any) -> None:
        self.js = js

    async def publish(self, event: Any) -> object:
        return await self.js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})


def main() -> None:
    ctx = multiprocessing.get_context("spawn")
    port_q, stop_q = ctx.Queue(), ctx.Queue()
    fake = ctx.Process(target=_serve, args=(port_q, stop_q), daemon=True)
    fake.start()
    base_url = port_q.get(timeout=30)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats_server(Path(tmp), max_file_store=8 * 1024**3)
        try:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            elapsed, recorded, requests, stored = asyncio.run(run(base_url, server.url))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        finally:
            server.stop()
    stop_q.put(True)
    served = port_q.get(timeout=30)
    fake.join(10)
    minimum = math.ceil(LISTENS / PAGE)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"listens: {recorded} recorded, {stored} ListenRecorded stored in INGEST (expected {LISTENS})")
    print(f"time: {elapsed:.1f} s, {recorded / elapsed:,.0f} listens/s")
    print(f"peak RSS of the ingesting process: {peak / 1024:.0f} MiB (before the run {rss_before / 1024:.0f} MiB)")
    print(f"requests: {requests} made ({served} seen by the fake), minimum possible {minimum} ({PAGE} per page)")
    if LB_INTERVAL:
        print(f"ListenBrainz limiter: {LB_INTERVAL:.2f} s between requests (kept)")
    else:
        print(f"ListenBrainz limiter: off in this run; at 1 req/s the requests alone take {requests:.0f} s")
    if recorded != LISTENS or stored != LISTENS:
        raise SystemExit("listens lost or duplicated")


if __name__ == "__main__":
    main()
