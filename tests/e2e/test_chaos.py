"""Chaos: a recommendation run while a driver SIGKILLs random services at least 10 times and kills nats-server once.

Afterwards every track is in a terminal state, every file in the library is unique and fully tagged, no staging file
is left, the catalog matches the files on disk, and every dead letter says why it is one.

Nothing is compressed: a message a killed process held comes back after its consumer's default `ack_wait` (10 s; a
handler still at work keeps its message with in-progress signals). The fakes answer with a little latency so the run
lasts long enough for the kills to land mid-work.

The short version (50 tracks) runs in `make test`; the long one (200 tracks, `slow`) prints its figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import nats
import pytest
from nats.js import JetStreamContext

from contracts.deadletter import DeadLetterHeader

from ..support.librarycheck import AUDIO_SUFFIXES, assert_library_matches_the_world
from ..support.loopstack import LoopStack, loop_stack, service_pids, subject_counts
from ..support.loopworld import LoopWorld
from ..support.stack import alive, health
from ..support.wait import wait_until

SERVICES = ("ingest-svc", "resolve-svc", "acquire-svc", "library-svc", "gateway")
TERMINAL = ("library.track.imported", "acquire.track.failed", "resolve.track.unresolved")


LONG = pytest.param(200, marks=[pytest.mark.slow, pytest.mark.timeout(900)])


@pytest.fixture(scope="module", params=[50, LONG], ids=lambda n: f"{n}")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopStack]:
    with loop_stack(tmp_path_factory.mktemp("chaos"), LoopWorld(request.param), latency_s=0.3) as s:
        yield s


@pytest.fixture(scope="module")
async def js(stack: LoopStack) -> AsyncIterator[JetStreamContext]:
    url = await wait_until(stack.nats_url, timeout=60, interval=0.1)
    nc = await nats.connect(url, name="chaos-tests", max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def _state(stack: LoopStack) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((stack.data_dir / "run" / "brainstream.json").read_text())
    return data


async def _terminal(js: JetStreamContext) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stream in ("LIBRARY", "ACQUIRE", "RESOLVE", "DEADLETTER"):
        counts |= await subject_counts(js, stream)
    return counts


async def _events(js: JetStreamContext, subject: str, stream: str) -> list[Any]:
    want = (await subject_counts(js, stream)).get(subject, 0)
    out: list[Any] = []
    if want == 0:
        return out
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL)
    try:
        while len(out) < want:
            out.append(await sub.next_msg(timeout=10))
    finally:
        await sub.unsubscribe()
    return out


@pytest.fixture(scope="module")
async def chaos(stack: LoopStack, js: JetStreamContext) -> dict[str, Any]:
    """Drive the kills while the run goes on; return once every track is terminal (or fail with the log)."""
    # the kills start once the run is under way, so they land on services with work in hand
    await wait_until(
        lambda: subject_counts(js, "INGEST"), timeout=90, predicate=lambda c: c.get("ingest.candidate.discovered", 0)
    )
    rng = random.Random(int(os.environ.get("BRAINSTREAM_CHAOS_SEED", "8")))
    n = stack.world.n
    kills: list[str] = []
    nats_killed_at: float | None = None
    t0 = time.monotonic()

    def terminal_count(c: dict[str, int]) -> int:
        return sum(c.get(s, 0) for s in TERMINAL)

    # the long version keeps killing until 90% of the tracks are done, so crashes hit every stage of a long run
    keep_until = int(0.9 * n) if n > 50 else 0

    async def done_so_far() -> int:
        try:
            return terminal_count(await _terminal(js))
        except (nats.errors.Error, TimeoutError):
            return 0

    while (
        len([k for k in kills if k != "nats-server"]) < 10
        or nats_killed_at is None
        or (keep_until and time.monotonic() - t0 < 240 and await done_so_far() < keep_until)
    ):
        await asyncio.sleep(rng.uniform(0.5, 1.2))
        state = _state(stack)
        if len(kills) == 5 and nats_killed_at is None:
            os.kill(int(state["nats_pid"]), signal.SIGKILL)
            nats_killed_at = time.monotonic() - t0
            kills.append("nats-server")
            continue
        victim = rng.choice(SERVICES)
        pid = service_pids(stack).get(victim)
        if pid is not None and alive(pid):
            os.kill(pid, signal.SIGKILL)
            kills.append(victim)
    driver_s = time.monotonic() - t0

    async def progress() -> dict[str, int]:
        try:
            return await _terminal(js)
        except (nats.errors.Error, TimeoutError):
            return {}  # the connection is coming back after the broker's restart

    try:
        counts = await wait_until(progress, timeout=300, interval=1.0, predicate=lambda c: terminal_count(c) >= n)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nkills: {kills}\n--- up.log ---\n{stack.log_tail(40)}") from None
    elapsed = time.monotonic() - t0
    # every service back up (the last victims may still be in their restart back-off) before the invariants
    await wait_until(
        lambda: health(stack.port), timeout=120, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
    )
    service_kills = Counter(k for k in kills if k != "nats-server")
    print(
        f"\nchaos, {n} tracks: {sum(service_kills.values())} service SIGKILLs {dict(service_kills)}, nats-server "
        f"killed at {nats_killed_at:.1f}s, driver {driver_s:.1f}s, all terminal after {elapsed:.1f}s; {counts}"
    )
    return {"counts": counts, "kills": kills}


async def test_every_track_ends_in_a_terminal_state(
    stack: LoopStack, js: JetStreamContext, chaos: dict[str, Any]
) -> None:
    assert sum(1 for k in chaos["kills"] if k != "nats-server") >= 10 and "nats-server" in chaos["kills"]
    ends: dict[str, set[str]] = {}
    for subject in TERMINAL:
        stream = subject.split(".")[0].upper()
        for msg in await _events(js, subject, stream):
            body = json.loads(msg.data)
            mbid = body.get("recording_mbid") or (body.get("query") or {}).get("recording_mbid")
            ends.setdefault(str(mbid), set()).add(subject)
    world = set(stack.world.by_mbid())
    assert world <= set(ends), f"no terminal state for {sorted(world - set(ends))[:5]}"
    failed = {m: s for m, s in ends.items() if "library.track.imported" not in s}
    print(f"imported {len(ends) - len(failed)}, failed or unresolved {len(failed)}: {failed}")


async def test_library_files_are_unique_fully_tagged_and_match_the_catalog(
    stack: LoopStack, chaos: dict[str, Any]
) -> None:
    await assert_library_matches_the_world(stack)


async def test_no_staging_file_is_left(stack: LoopStack, chaos: dict[str, Any]) -> None:
    left = [p for p in stack.staging_dir.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
    assert left == []


async def test_every_dead_letter_is_explained(stack: LoopStack, js: JetStreamContext, chaos: dict[str, Any]) -> None:
    letters = []
    counts = await subject_counts(js, "DEADLETTER")
    for subject in counts:
        letters += await _events(js, subject, "DEADLETTER")
    unexplained = []
    for msg in letters:
        headers = msg.headers or {}
        if not headers.get(DeadLetterHeader.REASON) or not headers.get(DeadLetterHeader.SUBJECT):
            unexplained.append((msg.subject, headers))
    print(f"dead letters: {Counter((m.headers or {}).get(DeadLetterHeader.REASON) for m in letters)}")
    assert unexplained == []
