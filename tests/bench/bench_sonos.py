"""ingest-svc's Sonos poller: how long one poll of every speaker takes, by number of speakers.

N fake speakers (tests/support/fakesonos.py) on 127.0.0.2… each play a Spotify track; the real poller (SoCo, worker
threads, the play trackers) polls them BENCH_SONOS_POLLS times (default 20). Half the speakers are grouped in pairs,
as a household often is. Plays go to an in-memory listen gate, so the figure is the polling itself. Prints the mean
and the slowest poll, and the HTTP requests per speaker and poll: a poll must stay well under the 10 s interval.

Run with `make bench` (or `uv run python tests/bench/bench_sonos.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contracts.base import Message
from ingest_svc.adapters.sonos import SocoNetwork
from ingest_svc.domain.sonos_config import SonosConfig
from ingest_svc.health import SourceHealth
from ingest_svc.ports import GateState
from ingest_svc.service import ListenService
from ingest_svc.service.sonos import SonosPoller
from ingest_svc.sonos_health import SonosHealth
from tests.support.fakesonos import FakeHousehold, FakeSpeaker, Segment, spotify

POLLS = int(os.environ.get("BENCH_SONOS_POLLS", "20"))
SIZES = (1, 8, 32)


class MemoryGate:
    def __init__(self) -> None:
        self.keys: dict[str, str] = {}

    async def claim(self, key: str) -> str:
        if key in self.keys:
            return self.keys[key]
        self.keys[key] = GateState.NEW
        return GateState.NEW

    async def done(self, key: str) -> None:
        self.keys[key] = GateState.DONE


class Sink:
    def __init__(self) -> None:
        self.events: list[Message] = []

    async def publish(self, event: Message) -> object:
        self.events.append(event)
        return None


async def bench(n: int) -> tuple[float, float, float, int]:
    household = FakeHousehold()
    t0 = time.monotonic()
    speakers = [
        FakeSpeaker(f"127.0.0.{i + 2}", f"Room {i}", household, lambda: time.monotonic() - t0).start() for i in range(n)
    ]
    try:
        household.groups = [[speakers[i], speakers[i + 1]] for i in range(0, n // 2 - 1, 2)]
        for i, s in enumerate(speakers):
            s.play(Segment(0, "PLAYING", 0, spotify(f"t{i}", f"Song {i}", "Artist", "Album", 240)))
        sink = Sink()
        listens = ListenService(None, MemoryGate(), sink, SourceHealth(), lookback_s=0)  # type: ignore[arg-type]
        config = SonosConfig(speakers=[s.address for s in speakers], interval_s=10)
        poller = SonosPoller(SocoNetwork(timeout_s=5), listens, lambda: config, SonosHealth())
        await poller.poll_once()  # first contact: service descriptions, household, music service lists
        before = sum(len(s.web.requests) for s in speakers)
        times = []
        for _ in range(POLLS):
            started = time.perf_counter()
            await poller.poll_once()
            times.append(time.perf_counter() - started)
        per_poll = (sum(len(s.web.requests) for s in speakers) - before) / POLLS / n
        return statistics.mean(times), max(times), per_poll, len(sink.events)
    finally:
        for s in speakers:
            s.stop()


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"started {datetime.now(UTC).isoformat(timespec='seconds')}; {POLLS} polls per size")
    print(f"{'speakers':>8} {'mean poll ms':>13} {'slowest ms':>11} {'requests/speaker/poll':>22}")
    for n in SIZES:
        mean, worst, per_poll, _ = await bench(n)
        print(f"{n:>8} {mean * 1000:>13.1f} {worst * 1000:>11.1f} {per_poll:>22.2f}")


if __name__ == "__main__":
    asyncio.run(main())
