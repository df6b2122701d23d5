"""Recommendation runs screened by the discovery lifecycle, on a real nats-server, against an in-process fake
ListenBrainz: what the screening costs a run.

The user holds `BENCH_TOMBSTONES` tombstones in `discovery_gate` (a tenth of them hated, by a hundred artists), the
library owns `BENCH_OWNED` recordings (`library_owned`), and excludes 50 artists. Each run takes 20 candidates from
CF, the generated playlists and the radio, with half of every source's list tombstoned, owned or excluded, so the
screen works for its candidates. The ListenBrainz limiter is off: the figure is ingest-svc's own time (with the
1 req/s limit each run costs its request count in seconds on top).

Prints: runs, time per run (median and worst), requests per run, KV buckets' sizes.
Run with `make bench` (or `uv run python tests/bench/bench_discovery_runs.py`).
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import importlib.util

import nats

from contracts.discovery import DISCOVERY_BUCKET, tombstone_key
from contracts.livesettings import UserAccounts
from infra.http import ApiClient, HttpSettings, IntervalLimiter
from infra.natsserver import start_nats_server
from infra.provision import provision
from ingest_svc.adapters.kv import KvCursorStore, KvDiscoveryGate, KvKnownRecordings
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.config import RunConfig
from ingest_svc.health import SourceHealth
from ingest_svc.service import RecommendationService
from tests.support.fakeweb import FakeWeb

ROOT = Path(__file__).resolve().parents[2]
# ingest-svc's test fakes (the loopback ListenBrainz), loaded by path: `tests` here is the repository's package
_spec = importlib.util.spec_from_file_location("ingest_fakes", ROOT / "ingest-svc" / "tests" / "fakes.py")
assert _spec is not None and _spec.loader is not None
fakes = importlib.util.module_from_spec(_spec)
sys.modules["ingest_fakes"] = fakes  # its dataclasses look their module up
_spec.loader.exec_module(fakes)
FakeListenBrainz, RecordingPublisher, generated_playlist, mbid = (
    fakes.FakeListenBrainz,
    fakes.RecordingPublisher,
    fakes.generated_playlist,
    fakes.mbid,
)

TOMBSTONES = int(os.environ.get("BENCH_TOMBSTONES", "5000"))
OWNED = int(os.environ.get("BENCH_OWNED", "10000"))
RUNS = int(os.environ.get("BENCH_RUNS", "30"))
CFG = RunConfig(20, 0.8, 100, 5, "easy", 3, 25, "all_time", playlists_ratio=0.2)


async def run(web: FakeWeb, nats_url: str) -> tuple[list[float], int]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision(js)
    gate, owned = await js.key_value(DISCOVERY_BUCKET), await js.key_value("library_owned")
    for i in range(TOMBSTONES):  # every other CF recommendation is tombstoned
        doc = {
            "artist": f"Hated {i % 100}" if i % 10 == 0 else f"Band {i}",
            "reason": "hated" if i % 10 == 0 else "unkept",
        }
        await gate.put(tombstone_key("alice", mbid(2 * i)), json.dumps(doc).encode())
    for i in range(OWNED):
        await owned.put(str(mbid(i, "radio")), json.dumps({"track_id": f"tr-{i}", "path": f"x/{i}.flac"}).encode())
    cf = [mbid(i) for i in range(RUNS * 40 + 2 * TOMBSTONES)]
    radio = [mbid(i, "radio") for i in range(2 * RUNS * 10)]  # the first half owned
    names = {m: f"Excluded {i % 50}" if i % 4 == 0 else f"Band {i}" for i, m in enumerate(cf[: RUNS * 40])}
    explore = [
        (uuid.uuid5(uuid.NAMESPACE_URL, f"x{i}"), f"Excluded {i % 50}" if i % 2 else f"Artist {i}") for i in range(500)
    ]
    jams = [
        (uuid.uuid5(uuid.NAMESPACE_URL, f"j{i}"), f"Hated {i % 100}" if i % 2 else f"Artist {i}") for i in range(500)
    ]
    playlists = [generated_playlist("weekly-exploration", explore), generated_playlist("weekly-jams", jams)]
    FakeListenBrainz(web, cf=cf, radio=radio, playlists=playlists, names=names)
    alice = UserAccounts(
        username="alice", listenbrainz_user="alice", excluded_artists=[f"excluded {i}" for i in range(50)]
    )
    http = HttpSettings(BRAINSTREAM_CONTACT="bench@example.org")
    async with ApiClient("listenbrainz", web.base_url, http, limiter=IntervalLimiter(0.0)) as client:
        svc = RecommendationService(
            ListenBrainz(client),
            await KvCursorStore.open(js),
            await KvKnownRecordings.open(js),
            RecordingPublisher(),
            SourceHealth(),
            gate=await KvDiscoveryGate.open(js),
        )
        times = []
        for _ in range(RUNS):
            start = time.perf_counter()
            report = await svc.run("alice", alice, CFG)
            times.append(time.perf_counter() - start)
            if len(report.cf) + len(report.radio) + len(report.playlists) != 20:
                raise SystemExit(f"a run came short: {report}")
    await nc.close()
    return times, len(web.requests)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeWeb() as web:
        server = start_nats_server(Path(tmp))
        try:
            times, requests = asyncio.run(run(web, server.url))
        finally:
            server.stop()
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load[0]:.2f}, Python {platform.python_version()}"
    )
    print(f"state: {TOMBSTONES} tombstones ({TOMBSTONES // 10} hated), {OWNED} owned, 50 excluded artists")
    print(
        f"runs: {RUNS} of 20 candidates; per run median {statistics.median(times) * 1000:.0f} ms, "
        f"worst {max(times) * 1000:.0f} ms"
    )
    print(f"requests: {requests / RUNS:.1f} per run (ListenBrainz at 1 req/s adds that many seconds)")


if __name__ == "__main__":
    main()
