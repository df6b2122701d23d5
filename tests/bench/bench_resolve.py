"""resolve-svc throughput under the real published rate limits, and the naive path as the baseline.

60 ListenBrainz-sourced candidates (recording MBIDs) go through one resolve-svc replica on a real nats-server,
against loopback fakes enforcing MusicBrainz 1/s, ListenBrainz 1/s, iTunes 20/min and Deezer 50 per 5 s, every limit
multiplied by one common factor (BENCH_RESOLVE_SCALE, default 1: the real limits).

The maximum those limits allow (ListenBrainz metadata comes in batches, so it never binds): every track of an album
not chosen before asks iTunes first, and a busy iTunes delays a track rather than letting Deezer answer for it (the
same input gives the same album whatever the load), so iTunes binds: 60 · scale · 20/60 per minute. Each track here
is on an album of its own, the worst case (tracks of an album already chosen ask no store).
The naive baseline: per track, one MusicBrainz lookup and one search, sequential, with a 1 s sleep (scaled).
Run with `make bench` or `uv run python tests/bench/bench_resolve.py`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import platform
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "resolve-svc" / "tests"))

import httpx  # noqa: E402
import nats  # noqa: E402
from resolve_catalog import RECORDINGS, mbid  # noqa: E402
from resolve_fakes import Fakes  # noqa: E402

from contracts.common import CandidateSource  # noqa: E402
from contracts.ingest import CandidateDiscovered  # noqa: E402
from contracts.resolve import TrackResolved  # noqa: E402
from infra.natsserver import start_nats_server  # noqa: E402
from infra.provision import provision  # noqa: E402
from resolve_svc.app import running  # noqa: E402
from tests.support.fakeweb import FakeWeb  # noqa: E402
from tests.support.wait import wait_until  # noqa: E402

SCALE = float(os.environ.get("BENCH_RESOLVE_SCALE", "1"))
TRACKS = int(os.environ.get("BENCH_RESOLVE_TRACKS", "60"))
NAIVE_TRACKS = int(os.environ.get("BENCH_RESOLVE_NAIVE_TRACKS", "20"))
SOURCES = ("musicbrainz", "listenbrainz", "itunes", "deezer", "coverartarchive", "images")


def catalog(n: int) -> dict[str, dict[str, Any]]:
    """n distinct recordings shaped like the test catalog, with their own names (so no cache answers twice)."""
    base = list(RECORDINGS.values())
    out = {}
    for i in range(n):
        doc = copy.deepcopy(base[i % len(base)])
        doc["id"] = mbid(f"bench-{i}")
        doc["title"] = f"{doc['title']} {i}"
        for c in doc["artist-credit"]:
            c["name"] = c["artist"]["name"] = f"{c['name']} {i}"
        for rel in doc["releases"]:
            rel["release-group"]["id"] = mbid(f"bench-rg-{i}-{rel['title']}")
        out[doc["id"]] = doc
    return out


def max_tracks_per_min(scale: float) -> float:
    return 60 * scale * 20 / 60


async def run_service(nats_url: str, fakes: Fakes, mbids: list[str]) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision(js)
    for i, m in enumerate(mbids):
        event = CandidateDiscovered(
            recording_mbid=uuid.UUID(m), source=CandidateSource.CF, run_id=uuid.uuid4(), position=i
        )
        await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})
    settings = fakes.settings(nats_url)
    started, cpu = time.monotonic(), time.process_time()
    async with running(settings, fakes.http()) as components:

        async def done() -> int:
            return (await js.stream_info("RESOLVE")).state.messages

        await wait_until(done, timeout=600, predicate=lambda n: n >= len(mbids))
        elapsed = time.monotonic() - started
        cpu = time.process_time() - cpu
        batches = list(components.metadata.batches)
        conflicts = {name: lim.conflicts for name, lim in components.limiters.items()}
        deferrals = {source.name: getattr(source, "deferred", 0) for source in components.chain.commercial}
    sources: Counter[str] = Counter()
    resolved = 0
    for seq in range(1, len(mbids) + 1):
        msg = await js.get_msg("RESOLVE", seq)
        if msg.subject == TrackResolved.subject:
            resolved += 1
            sources[TrackResolved.from_json(msg.data or b"").track.album_source.value] += 1
    await nc.close()
    return {
        "elapsed_s": elapsed,
        "resolved": resolved,
        "album_sources": dict(sources),
        "lb_batches": batches,
        "cas_conflicts": conflicts,
        "cpu_s": cpu,
        "deferrals": deferrals,
    }


async def run_naive(fakes: Fakes, mbids: list[str]) -> dict[str, Any]:
    """One MusicBrainz lookup and one search per track, sequential, sleeping the (scaled) second between calls."""
    pause = 1.0 / SCALE
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=fakes.mb.base_url, headers={"User-Agent": "naive/1.0"}) as client:
        for m in mbids:
            doc = (await client.get(f"/ws/2/recording/{m}", params={"fmt": "json", "inc": "releases"})).json()
            await asyncio.sleep(pause)
            artist = doc.get("artist-credit", [{}])[0].get("name", "")
            query = f'+recording:"{doc.get("title", "")}" +artist:"{artist}"'
            await client.get("/ws/2/recording", params={"query": query, "fmt": "json"})
            await asyncio.sleep(pause)
    return {"elapsed_s": time.monotonic() - started}


def fresh_fakes(webs: list[FakeWeb], recordings: dict[str, dict[str, Any]]) -> Fakes:
    def make() -> FakeWeb:
        web = FakeWeb().start()
        webs.append(web)
        return web

    return Fakes(make, scale=SCALE, recordings=recordings)


def per_track(counts: dict[str, int], n: int) -> dict[str, float]:
    return {k: round(counts.get(k, 0) / n, 3) for k in SOURCES}


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    recordings = catalog(TRACKS)
    mbids = list(recordings)
    webs: list[FakeWeb] = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats_server(Path(tmp))
        try:
            fakes = fresh_fakes(webs, recordings)
            service = await run_service(server.url, fakes, mbids)
            counts, violations = fakes.counts(), fakes.violations
            naive_fakes = fresh_fakes(webs, recordings)
            naive = await run_naive(naive_fakes, mbids[:NAIVE_TRACKS])
            naive_counts, naive_violations = naive_fakes.counts(), naive_fakes.violations
        finally:
            for web in webs:
                web.stop()
            server.stop()
    ceiling = max_tracks_per_min(SCALE)
    rate = TRACKS / service["elapsed_s"] * 60
    naive_rate = NAIVE_TRACKS / naive["elapsed_s"] * 60
    batches = service["lb_batches"]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "scale_factor": SCALE,
        "limits_per_s": {
            "musicbrainz": SCALE,
            "listenbrainz": SCALE,
            "itunes": round(SCALE * 20 / 60, 3),
            "deezer": SCALE * 10,
        },
        "service": {
            "tracks": TRACKS,
            "resolved": service["resolved"],
            "elapsed_s": round(service["elapsed_s"], 2),
            "tracks_per_min": round(rate, 1),
            "max_tracks_per_min_itunes_bound": round(ceiling, 1),
            "share_of_max": round(rate / ceiling, 3),
            "store_deferrals": service["deferrals"],
            "requests_per_track": per_track(counts, TRACKS),
            "violations": violations,
            "album_sources": service["album_sources"],
            "lb_batches": {"count": len(batches), "mean_size": round(sum(batches) / max(1, len(batches)), 1)},
            "kv_cas_conflicts": service["cas_conflicts"],
            "cpu_s_of_this_process": round(service["cpu_s"], 1),
        },
        "naive_baseline": {
            "tracks": NAIVE_TRACKS,
            "elapsed_s": round(naive["elapsed_s"], 2),
            "tracks_per_min": round(naive_rate, 1),
            "requests_per_track": per_track(naive_counts, NAIVE_TRACKS),
            "violations": naive_violations,
        },
        "speedup_vs_naive": round(rate / naive_rate, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
