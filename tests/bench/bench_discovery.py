"""library-svc's discovery lifecycle: what its state and its tick cost with many discoveries.

Builds a SQLite catalog database with BENCH_DISCOVERY_USERS users x BENCH_DISCOVERY_PER_USER discoveries spread over
ten weeks (a tenth of them starred), then prints:
- the fold: `DiscoveryAdded` events applied per second (what `brainstream replay discoveries` does);
- writing every user's discovery playlists into the built-in server, the first time and when nothing changed;
- one tick with nothing due (the steady cost every BRAINSTREAM_DISCOVERY_TICK seconds, stars looked at);
- one tick that keeps the starred ones (each decision published, applied and its playlists rewritten).
Run with `uv run python tests/bench/bench_discovery.py`; nothing is published to a server (the publisher counts).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contracts.common import CandidateSource
from contracts.discovery import DiscoveryAdded, discovery_week
from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.database import create_catalog_engine, create_schema
from library_svc.adapters.files import LocalFiles
from library_svc.adapters.owned import NoOwnedIndex
from library_svc.adapters.userdata import UserStore
from library_svc.discovery.rules import Rules
from library_svc.discovery.service import Discoveries
from library_svc.discovery.store import DiscoveryStore, sync_playlists
from library_svc.service import Library, NoTrigger
from library_svc.settings import DEFAULT_PATH_TEMPLATE

USERS = int(os.environ.get("BENCH_DISCOVERY_USERS", "10"))
PER_USER = int(os.environ.get("BENCH_DISCOVERY_PER_USER", "500"))


class Counted:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, event: Any) -> None:
        self.count += 1


class NoGate:
    async def bury(self, user: str, mbid: str, value: dict[str, str]) -> None:
        return None

    async def lift(self, user: str, mbid: str) -> None:
        return None

    async def pause(self, reason: str) -> None:
        return None

    async def resume(self) -> None:
        return None

    async def sync(self, tombstones: dict[tuple[str, str], dict[str, str]], paused: str | None) -> tuple[int, int]:
        return 0, 0


def events(now: datetime) -> list[DiscoveryAdded]:
    out = []
    for u in range(USERS):
        for i in range(PER_USER):
            at = now - timedelta(days=70) + timedelta(minutes=(i * 70 * 24 * 60) // PER_USER)
            out.append(
                DiscoveryAdded(
                    user=f"user{u}",
                    occurred_at=at,
                    track_id=f"{u:03d}{i:05d}".ljust(32, "0"),
                    recording_mbid=uuid.uuid5(uuid.NAMESPACE_URL, f"{u}-{i}"),
                    source=CandidateSource.CF,
                    week=discovery_week(at),
                    position=i,
                    artist=f"Artist {i % 97}",
                    title=f"Song {i}",
                    path=f"A/{u}/{i}.mp3",
                    size_bytes=5_000_000,
                )
            )
    return out


async def main() -> None:
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_catalog_engine(f"sqlite:///{Path(tmp) / 'catalog.db'}")
        create_schema(engine)
        store = DiscoveryStore(engine)
        added = events(now)
        began = time.perf_counter()
        for start in range(0, len(added), 500):
            store.apply(added[start : start + 500])
        fold_s = time.perf_counter() - began
        users = UserStore(engine)
        began = time.perf_counter()
        written = sync_playlists(store, users, store.users(), now)
        first_sync_s = time.perf_counter() - began
        began = time.perf_counter()
        sync_playlists(store, users, store.users(), now)
        again_s = time.perf_counter() - began
        # keep_for long enough that nothing is due: the steady tick
        library = Library(
            Path(tmp) / "music",
            SqlCatalog(engine),
            Counted(),
            NoOwnedIndex(),
            lambda: DEFAULT_PATH_TEMPLATE,
            NoTrigger(),
            LocalFiles(),
        )
        publish = Counted()
        library.publish = publish
        life = Discoveries(store, users, library, NoGate(), lambda _u: Rules(keep_for=timedelta(days=365)), Path(tmp))
        life.clock = lambda: now
        began = time.perf_counter()
        await life.tick()
        idle_s = time.perf_counter() - began
        starred = [(e.user or "", e.track_id) for e in added[::10]]
        for user, track_id in starred:
            users.star(user, [(track_id, "song")], now)
        began = time.perf_counter()
        await life.tick()
        keep_s = time.perf_counter() - began
        engine.dispose()
    load = os.getloadavg()
    print(f"discovery lifecycle, {USERS} users x {PER_USER} discoveries ({len(added)}), SQLite")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, load {load[0]:.2f}")
    print(f"fold (replay): {len(added) / fold_s:,.0f} DiscoveryAdded/s ({fold_s:.2f} s)")
    print(f"playlists written: {written} in {first_sync_s:.2f} s; unchanged: {again_s:.2f} s")
    print(f"tick, nothing due: {idle_s * 1000:.0f} ms")
    each_ms = keep_s / max(1, publish.count) * 1000
    print(f"tick keeping {len(starred)} starred: {keep_s:.2f} s ({publish.count} events, {each_ms:.1f} ms each)")


if __name__ == "__main__":
    asyncio.run(main())
