"""Recovery at default settings: seconds from the SIGKILL of a service holding a message to that message's work done.

A whole `brainstream up` on loopback fakes (tests/support/loopstack.py), every consumer with the contracts' own
`ack_wait`. Each round catches every service holding a delivered message, kills it, and times until the restarted
process handled and acked it (tests/support/recovery.py says how); ingest-svc, acquire-svc and the gateway are killed
together, then library-svc and resolve-svc. BENCH_RECOVERY_ROUNDS rounds (default 3); figures go into
docs/benchmarks/recovery.md.

Run with `make bench` (or `uv run python tests/bench/bench_recovery.py`).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nats

from contracts.topology import CONSUMERS
from tests.support.loopstack import LoopStack, loop_stack
from tests.support.loopworld import LoopWorld
from tests.support.recovery import TARGETS, RecoveryDriver
from tests.support.stack import health
from tests.support.wait import wait_until

ROUNDS = int(os.environ.get("BENCH_RECOVERY_ROUNDS", "3"))


async def measure(stack: LoopStack) -> dict[str, list[float]]:
    await wait_until(
        lambda: health(stack.port), timeout=120, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
    )
    nc = await nats.connect(await wait_until(stack.nats_url, timeout=60))
    try:
        driver = RecoveryDriver(stack, nc.jetstream())
        out: dict[str, list[float]] = {s: [] for s in TARGETS}
        for _ in range(ROUNDS):
            for service, seconds in (await driver.round()).items():
                out[service].append(seconds)
        return out
    finally:
        await nc.close()


def main() -> None:
    # four tracks a round, and more when a freeze misses and takes the next one
    with tempfile.TemporaryDirectory() as tmp, loop_stack(Path(tmp), LoopWorld(12 * ROUNDS), env_accounts=False) as s:
        times = asyncio.run(measure(s))
    ack_waits = sorted({c.ack_wait_s for c in CONSUMERS})
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load "
        f"{os.getloadavg()[0]:.1f}; ack_wait {', '.join(f'{a:.0f}s' for a in ack_waits)}; {ROUNDS} rounds"
    )
    print(f"{'service (durable)':<42} {'median':>7} {'max':>7}")
    for service, values in times.items():
        label = f"{service} ({TARGETS[service].durable})"
        print(f"{label:<42} {statistics.median(values):6.1f}s {max(values):6.1f}s")


if __name__ == "__main__":
    main()
