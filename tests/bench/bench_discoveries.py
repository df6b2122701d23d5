"""gateway: the Discoveries read model — folding the lifecycle's events and reading one user's page.

BENCH_DISCOVERY_USERS users (default 10) x BENCH_DISCOVERY_WEEKS weeks (default 12) x 80 picks a week (the default
20 tracks every 6 hours), half of them kept and a quarter expired, one event each:
- `live`: one transaction per event, as the read-model consumers apply them (`Projection.apply`);
- `replay`: every event in one pass (`Projection.apply_many`, as `brainstream replay gateway`);
- `read`: `user_discoveries` for one user (what `GET /api/discoveries` and the page draw), median of 20.

Run with `uv run python tests/bench/bench_discoveries.py`.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contracts import discovery as d
from contracts.base import Message
from contracts.common import CandidateSource
from gateway.db import make_engine
from gateway.discoveries.navidrome import wanted_playlists
from gateway.discoveries.queries import DEFAULT_RULES, user_discoveries, user_picks
from gateway.readmodel.projection import Projection

USERS = int(os.environ.get("BENCH_DISCOVERY_USERS", "10"))
WEEKS = int(os.environ.get("BENCH_DISCOVERY_WEEKS", "12"))
PER_WEEK = 80


def events() -> list[Message]:
    now = datetime.now(UTC)
    out: list[Message] = []
    for u in range(USERS):
        user = f"user{u}"
        for w in range(WEEKS):
            for p in range(PER_WEEK):
                at = now - timedelta(days=7 * (WEEKS - w), minutes=PER_WEEK - p)
                track = f"tr-{u}-{w}-{p}"
                mbid = uuid.uuid5(uuid.NAMESPACE_URL, track)
                out.append(
                    d.DiscoveryAdded(
                        user=user,
                        occurred_at=at,
                        track_id=track,
                        recording_mbid=mbid,
                        source=CandidateSource.CF,
                        week=d.discovery_week(at),
                        position=p,
                        artist=f"Artist {p}",
                        title=f"Title {w}-{p}",
                        album="Album",
                        path=f"a/{track}.flac",
                        size_bytes=30_000_000,
                        expires_at=at + timedelta(days=21),
                    )
                )
                later = at + timedelta(days=2)
                if p % 2 == 0:
                    out.append(
                        d.DiscoveryKept(
                            user=user,
                            occurred_at=later,
                            track_id=track,
                            recording_mbid=mbid,
                            reason=d.KeepReason.PLAYED,
                            detail="played 1 time",
                        )
                    )
                elif p % 4 == 1:
                    out.append(
                        d.DiscoveryExpired(
                            user=user,
                            occurred_at=later,
                            track_id=track,
                            recording_mbid=mbid,
                            reason=d.ExpiryReason.UNKEPT,
                            users=[user],
                            path="x",
                            trash_path="x",
                            purge_at=later + timedelta(days=7),
                        )
                    )
    out.sort(key=lambda e: e.occurred_at)
    return out


def main() -> None:
    evs = events()
    print(f"{platform.node()}: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{len(evs)} events: {USERS} users x {WEEKS} weeks x {PER_WEEK} picks")
    with tempfile.TemporaryDirectory() as tmp:
        live = Projection(make_engine(Path(tmp) / "live.db"))
        began = time.perf_counter()
        for seq, e in enumerate(evs, 1):
            live.apply(e, e.stream, seq)
        took = time.perf_counter() - began
        print(f"live:   {len(evs) / took:8.0f} events/s ({took:.1f} s)")

        engine = make_engine(Path(tmp) / "replay.db")
        replay = Projection(engine)
        began = time.perf_counter()
        replay.apply_many([(e, e.stream, seq) for seq, e in enumerate(evs, 1)])
        took = time.perf_counter() - began
        print(f"replay: {len(evs) / took:8.0f} events/s ({took:.1f} s)")

        times = []
        for _ in range(20):
            began = time.perf_counter()
            shown = user_discoveries(engine, "user0", DEFAULT_RULES)
            times.append(time.perf_counter() - began)
        picks = sum(len(w["picks"]) for w in shown["weeks"])
        print(f"read:   {statistics.median(times) * 1000:8.1f} ms median for one user's page ({picks} picks)")
        began = time.perf_counter()
        wanted = wanted_playlists(user_picks(engine, "user0"))
        took = time.perf_counter() - began
        print(f"mirror: {took * 1000:8.1f} ms to work out {len(wanted)} playlists of one user")
        print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
