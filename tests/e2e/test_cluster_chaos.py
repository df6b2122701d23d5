"""The whole loop on a three-node NATS cluster with R3 streams (`brainstream up --cluster 3`), while the node that
leads INGEST is SIGKILLed mid-run (the runner starts it again) and so are an acquire-svc replica and the library-svc
writer.

Afterwards every track is terminal, the library's files are unique and fully tagged, the catalog equals the disk, no
staging file is left, every dead letter says why, `brainstream status` shows every stream with three replicas, a
leader and no peer behind, and a replay of the catalog from the cluster equals the live one.

The short form (20 tracks) runs in `make test`; the long one (100 tracks) is `slow`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from contracts.deadletter import DeadLetterHeader

from ..support.librarycheck import assert_library_matches_the_world, audio_files
from ..support.loopstack import LoopStack, loop_stack, service_pids, subject_counts
from ..support.loopworld import LoopWorld
from ..support.natscluster import stream_healthy
from ..support.stack import alive, health
from ..support.wait import wait_until
from .test_chaos import TERMINAL, _events, _state, _terminal

LONG = pytest.param(100, marks=[pytest.mark.slow, pytest.mark.timeout(900)])


@pytest.fixture(scope="module", params=[20, LONG], ids=lambda n: f"{n}")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopStack]:
    up = ("--cluster", "3", "--replicas", "acquire=2")
    with loop_stack(tmp_path_factory.mktemp("cluster"), LoopWorld(request.param), latency_s=0.2, up_args=up) as s:
        yield s


@pytest.fixture(scope="module")
async def js(stack: LoopStack) -> AsyncIterator[JetStreamContext]:
    url = await wait_until(stack.nats_url, timeout=90, interval=0.1)
    nc = await nats.connect(url.split(","), name="cluster-chaos", max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def _status(stack: LoopStack) -> dict[str, Any] | None:
    done = stack.cli("status", "--json")
    try:
        body: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return None
    return body


@pytest.fixture(scope="module")
async def chaos(stack: LoopStack, js: JetStreamContext) -> dict[str, Any]:
    # the kills land mid-run, on a stack that is up: every service healthy first (a service still starting when a
    # node goes is another test's subject)
    await wait_until(
        lambda: health(stack.port), timeout=180, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
    )
    await wait_until(
        lambda: subject_counts(js, "INGEST"), timeout=120, predicate=lambda c: c.get("ingest.candidate.discovered", 0)
    )
    n = stack.world.n
    t0 = time.monotonic()
    so_far = await _terminal(js)
    before = sum(so_far.get(s, 0) for s in TERMINAL)  # how far the run was when the node went
    info = await js.stream_info("INGEST")
    assert info.config.num_replicas == 3 and info.cluster is not None and info.cluster.leader
    leader = int(info.cluster.leader.rsplit("-", 1)[1]) - 1
    node_pid = _state(stack)["nats_pids"][leader]
    os.kill(node_pid, signal.SIGKILL)  # the node leading INGEST is lost mid-run
    kills = [f"nats node {leader + 1}"]
    await asyncio.sleep(1.0)
    for victim in ("acquire-svc", "library-svc"):  # an acquire replica, and the library writer
        pid = service_pids(stack).get(victim)
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)
            kills.append(victim)

    async def progress() -> dict[str, int]:
        try:
            return await _terminal(js)
        except (nats.errors.Error, TimeoutError):
            return {}

    def terminal_count(c: dict[str, int]) -> int:
        return sum(c.get(s, 0) for s in TERMINAL)

    try:
        counts = await wait_until(progress, timeout=400, interval=1.0, predicate=lambda c: terminal_count(c) >= n)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nkills: {kills}\n--- up.log ---\n{stack.log_tail(40)}") from None
    elapsed = time.monotonic() - t0
    restarted = _state(stack)["nats_pids"][leader]
    assert restarted and restarted != node_pid  # the runner started the lost node again
    await wait_until(
        lambda: health(stack.port), timeout=120, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
    )
    print(
        f"\ncluster chaos, {n} tracks: {before} terminal when the node went; killed {kills}, all terminal after "
        f"{elapsed:.1f}s; {counts}"
    )
    return {"counts": counts, "kills": kills}


async def test_every_track_is_terminal_and_the_streams_are_healthy_again(
    stack: LoopStack, js: JetStreamContext, chaos: dict[str, Any]
) -> None:
    ends: dict[str, set[str]] = {}
    for subject in TERMINAL:
        for msg in await _events(js, subject, subject.split(".")[0].upper()):
            body = json.loads(msg.data)
            mbid = body.get("recording_mbid") or (body.get("query") or {}).get("recording_mbid")
            ends.setdefault(str(mbid), set()).add(subject)
    world = set(stack.world.by_mbid())
    assert world <= set(ends), f"no terminal state for {sorted(world - set(ends))[:5]}"
    status = await wait_until(
        lambda: _status(stack),
        timeout=90,
        interval=1.0,
        predicate=lambda s: bool(s) and all(stream_healthy(x) for x in s["streams"]),
    )
    assert status["unhealthy_streams"] == []


async def test_files_are_unique_fully_tagged_and_the_catalog_equals_the_disk(
    stack: LoopStack, chaos: dict[str, Any]
) -> None:
    await assert_library_matches_the_world(stack)
    assert audio_files(stack.staging_dir) == []


async def test_every_dead_letter_is_explained(stack: LoopStack, js: JetStreamContext, chaos: dict[str, Any]) -> None:
    letters = []
    for subject in await subject_counts(js, "DEADLETTER"):
        letters += await _events(js, subject, "DEADLETTER")
    unexplained = [
        (m.subject, m.headers)
        for m in letters
        if not (m.headers or {}).get(DeadLetterHeader.REASON) or not (m.headers or {}).get(DeadLetterHeader.SUBJECT)
    ]
    assert unexplained == []


def _catalog(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute("select path, title, album_id, recording_mbid from track").fetchall())


async def test_a_replay_from_the_cluster_gives_the_live_catalog(stack: LoopStack, chaos: dict[str, Any]) -> None:
    rebuilt = stack.root / "replayed.db"
    done = await asyncio.to_thread(stack.cli, "replay", "library", "--into", str(rebuilt), "--json", timeout=180)
    assert done.returncode == 0, done.stderr
    live = _catalog(stack.data_dir / "library" / "catalog.db")
    assert live and _catalog(rebuilt) == live
