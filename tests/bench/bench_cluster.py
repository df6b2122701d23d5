"""A three-node NATS cluster against one node: the whole pipeline's tracks/min, and the time to recover after
losing a stream's leader.

- Pipeline: the same generated world and loopback fakes as bench_e2e_pipeline (inbox backend, real tagging, real
  library import, zero external latency), once through `brainstream up` (one embedded nats-server, R1) and once
  through `brainstream up --cluster 3` (three routed nodes, every stream, KV bucket and consumer R3). Timed from the
  run's request to the N-th `TrackImported`. BENCH_CLUSTER_TRACKS (default 100) sets N.
- Recovery: a three-node cluster with R3 streams and a publisher writing to INGEST without pause; the node that leads
  INGEST is SIGKILLed, and the time from the kill to the next stored publish (a new leader elected and taking writes)
  is measured, then the node is started again and the time until every peer is current. BENCH_CLUSTER_LOSSES
  (default 3) rounds.

Run with `make bench` (or `uv run python tests/bench/bench_cluster.py`).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nats
from nats.errors import Error as NatsError

from infra.natscluster import start_nats_cluster, wait_jetstream_ready
from infra.provision import provision
from tests.support.loopstack import LoopStack, loop_stack, set_accounts, subject_counts
from tests.support.loopworld import LoopWorld
from tests.support.stack import health

TRACKS = int(os.environ.get("BENCH_CLUSTER_TRACKS", "100"))
LOSSES = int(os.environ.get("BENCH_CLUSTER_LOSSES", "3"))


async def pipeline(stack: LoopStack) -> float:
    deadline = time.monotonic() + 180
    while not ((h := health(stack.port)) and h["status"] == "ok"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the stack did not become healthy:\n{stack.log_tail()}")
        await asyncio.sleep(0.5)
    await asyncio.sleep(5)  # start-up work (scans, first polls) done
    url = stack.nats_url()
    assert url is not None
    nc = await nats.connect(url.split(","), name="bench-cluster", max_reconnect_attempts=-1)
    js = nc.jetstream()
    t0 = time.perf_counter()
    await set_accounts(stack)
    imported = 0
    while imported < stack.world.n:
        if time.perf_counter() - t0 > 1800:
            raise SystemExit(f"only {imported}/{stack.world.n} imported after 30 min:\n{stack.log_tail()}")
        await asyncio.sleep(0.5)
        imported = (await subject_counts(js, "LIBRARY")).get("library.track.imported", 0)
    took = time.perf_counter() - t0
    await nc.close()
    return took


def run_pipeline(root: Path, up_args: tuple[str, ...]) -> float:
    margin = {"BRAINSTREAM_RATE_MARGIN": "0.002"}  # as bench_e2e_pipeline: no jitter margin on loopback
    with loop_stack(root, LoopWorld(TRACKS), env_accounts=False, extra_env=margin, up_args=up_args) as stack:
        return asyncio.run(pipeline(stack))


async def leader_losses(root: Path) -> list[tuple[float, float]]:
    cluster = start_nats_cluster(root, 3, max_file_store=8 * 1024**3)
    out: list[tuple[float, float]] = []
    try:
        await wait_jetstream_ready(cluster.url, replicas=3)
        nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.05)
        js = nc.jetstream()
        await provision(js, 3)
        for _ in range(LOSSES):
            info = await js.stream_info("INGEST")
            assert info.cluster is not None and info.cluster.leader
            victim = int(info.cluster.leader.rsplit("-", 1)[1]) - 1
            for i in range(20):
                await js.publish("ingest.bench.recorded", str(i).encode())
            cluster.kill(victim)
            killed = time.perf_counter()
            while True:
                try:
                    await js.publish("ingest.bench.recorded", b"after", timeout=0.5)
                    break
                except (NatsError, TimeoutError):
                    await asyncio.sleep(0.01)
            writable = time.perf_counter() - killed
            cluster.start_node(victim)
            started = time.perf_counter()
            while True:
                try:
                    info = await js.stream_info("INGEST")
                    peers = (info.cluster.replicas or []) if info.cluster else []
                    if len(peers) == 2 and all(p.current and not p.offline for p in peers):
                        break
                except (NatsError, TimeoutError):
                    pass
                await asyncio.sleep(0.05)
            out.append((writable, time.perf_counter() - started))
        await nc.close()
    finally:
        cluster.stop()
    return out


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        print(f"whole pipeline, {TRACKS} tracks (inbox backend, real tagging, zero external latency)")
        one = run_pipeline(root / "one", ())
        print(f"  one node (R1):     {TRACKS} tracks in {one:.1f}s = {TRACKS / one * 60:.0f} tracks/min")
        three = run_pipeline(root / "three", ("--cluster", "3"))
        print(f"  three nodes (R3):  {TRACKS} tracks in {three:.1f}s = {TRACKS / three * 60:.0f} tracks/min")
        print(f"  ratio three/one: {one / three:.2f}")
        print(f"losing the INGEST leader, {LOSSES} rounds (three nodes, R3, a publisher writing without pause)")
        rounds = asyncio.run(leader_losses(root / "losses"))
        for i, (writable, caught_up) in enumerate(rounds, 1):
            print(f"  round {i}: writes again after {writable:.2f}s; restarted node current after {caught_up:.2f}s")
        print(
            f"  median: writes again after {statistics.median(r[0] for r in rounds):.2f}s, "
            f"node current after {statistics.median(r[1] for r in rounds):.2f}s"
        )


if __name__ == "__main__":
    main()
