"""Insights at scale: one heavy listener with 1,000,000 plays over 15 years and 20 other users with 100,000 each.

1. Replay: the plays go into a fresh history store in batches of 20,000 (one transaction each, as a replay's fold
   commits), once without the roll-up triggers and once with them; the difference is the cost of building the
   roll-ups during a replay.
2. Insights: `build()` (everything `GET /api/insights` returns: top lists, trends against the previous period, the
   listening clock, sources, discovery, the hit rate over 2,000 acquired tracks, the summary's facts) and its JSON,
   for each range (this week, this month, this year, all time, a custom quarter), in Europe/Berlin; p50 and p95.
   The HTTP hop (Litestar, session check) adds about a millisecond and is measured by bench_gateway.

The measured process is set up as the gateway's: the generated plays are dropped once stored, and the objects made
while setting up are frozen out of the garbage collector's generations (`gc.freeze()`, as the gateway does once
started), so a full collection during a request walks only what requests made. Every request is cold as far as
insights go (there is no result cache); the first request of each range, which also prepares its statements and
reads the roll-ups' pages into SQLite's cache, is printed apart. `BENCH_INSIGHTS_REBUILD=1` also times `rebuild()`,
a recount of every roll-up of the whole store in one transaction. `BENCH_INSIGHTS_OTHERS=bulk` stores the 20 other
users' plays with the triggers off and then recounts every roll-up with `rebuild()` (timed), which is quicker than
counting them play by play on a busy machine; the heavy user's replay is counted by the triggers either way.

`BENCH_INSIGHTS_SCALE` scales every size. The default, 0.2 (200,000 plays and 20 x 20,000), runs in about eight
minutes for `make bench`; `BENCH_INSIGHTS_SCALE=1` is the full size of docs/benchmarks/insights.md (about 40 minutes
on the shared 2-core machine, nearly all of it building the 3,000,000 plays' store with its roll-ups).
`BENCH_INSIGHTS_RUNS` sets the requests per range (default 40). `BENCH_INSIGHTS_STORE=<directory>` measures the
requests again on a store an earlier run built (it prints its directory) without building it.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gateway.db import make_engine
from gateway.history.schema import connect
from gateway.insights.api import Prefs, build
from gateway.insights.hitrate import ensure_index
from gateway.insights.rollup_store import rebuild, tune_reader
from gateway.readmodel.rows import TimelineRow, TrackRow
from tests.support.listening import generate, insert

SCALE = float(os.environ.get("BENCH_INSIGHTS_SCALE", "0.2"))
RUNS = int(os.environ.get("BENCH_INSIGHTS_RUNS", "40"))
BULK = os.environ.get("BENCH_INSIGHTS_OTHERS") == "bulk"
HEAVY = int(1_000_000 * SCALE)
OTHERS, OTHER_PLAYS = 20, int(100_000 * SCALE)
END = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
START = END - timedelta(days=365 * 15)
TZ = ZoneInfo("Europe/Berlin")


def _plays(user: str, n: int, seed: int) -> list:  # type: ignore[type-arg]
    return list(generate(user, n, START.timestamp(), END.timestamp(), seed=seed, artists=5000, tracks_per_artist=12))


def _genres(conn: sqlite3.Connection) -> int:
    """The library's genres: every recording the generator can play has one or two of 40 (as TrackImported entries
    would give), stored before the plays, as a library imports before it is listened to."""
    rows = [
        (str(uuid.UUID(int=a * 1000 + t + 1)), f"Genre {((a * 12 + t) * k) % 40:02d}")
        for a in range(5000)
        for t in range(12)
        for k in (1, 7)
    ]
    conn.execute("BEGIN")
    conn.executemany("INSERT OR IGNORE INTO history_genres (recording_mbid, genre) VALUES (?, ?)", rows)
    conn.execute("COMMIT")
    return len({r[0] for r in rows})


def _timed_insert(path: Path, plays: list, triggers: bool) -> float:  # type: ignore[type-arg]
    conn = connect(path)
    if not triggers:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
    else:
        print(f"genres for {_genres(conn):,} recordings")
    t, c = time.perf_counter(), time.process_time()
    insert(conn, plays)
    took, cpu = time.perf_counter() - t, time.process_time() - c
    conn.close()
    print(f"  {'with' if triggers else 'without'} roll-ups: {took:.1f} s, CPU {cpu:.1f} s")
    return took


def _acquired(engine_path: Path, n: int) -> None:
    engine = make_engine(engine_path)
    with Session(engine) as s:
        for i in range(n):
            at = START + timedelta(seconds=(END - START).total_seconds() * i / n)
            tid = f"t{i}"
            mbid = str(uuid.UUID(int=(i % 5000) * 1000 + i % 12 + 1))  # recordings the generator plays
            origin = ("cf", "radio", "manual")[i % 3]
            s.add(
                TrackRow(
                    id=tid,
                    user="heavy",
                    origin=origin,
                    state="imported",
                    recording_mbid=mbid,
                    created_at=at,
                    updated_at=at,
                )
            )
            s.add(
                TimelineRow(
                    track_id=tid, stream="LIBRARY", seq=i + 1, subject="library.track.imported", stage="imported", at=at
                )
            )
        s.commit()
    ensure_index(engine)


def main() -> None:
    given = os.environ.get("BENCH_INSIGHTS_STORE")
    tmp = Path(given) if given else Path(tempfile.mkdtemp(prefix="bench-insights-"))
    print(f"store: {tmp}")
    if not given:
        _build(tmp)
        _acquired(tmp / "gateway.db", 2000)
    _requests(tmp)


def _build(tmp: Path) -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {sys.version.split()[0]}, "
        f"sqlite {sqlite3.sqlite_version}; scale {SCALE}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    t = time.perf_counter()
    heavy = _plays("heavy", HEAVY, 1)
    print(f"generated {len(heavy):,} plays of one user in {time.perf_counter() - t:.1f} s")

    plain = _timed_insert(tmp / "plain.db", heavy, triggers=False)
    rolled = _timed_insert(tmp / "history.db", heavy, triggers=True)
    print(
        f"replay of {len(heavy):,} plays: {plain:.1f} s without roll-ups ({len(heavy) / plain:,.0f} plays/s), "
        f"{rolled:.1f} s with them ({len(heavy) / rolled:,.0f} plays/s): roll-ups cost {rolled - plain:.1f} s"
    )
    (tmp / "plain.db").unlink()
    del heavy
    t = time.perf_counter()
    if BULK:
        # the other users' plays with the triggers off, then every roll-up of the store recounted in one go
        conn = connect(tmp / "history.db")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for u in range(OTHERS):
            insert(conn, _plays(f"user{u:02d}", OTHER_PLAYS, 100 + u))
        stored = time.perf_counter() - t
        conn.close()
        conn = connect(tmp / "history.db")  # the triggers again
        t = time.perf_counter()
        rebuild(conn)
        conn.close()
        print(
            f"{OTHERS} more users x {OTHER_PLAYS:,} plays stored without roll-ups in {stored:.1f} s; rebuild(): every "
            f"roll-up recounted from {HEAVY + OTHERS * OTHER_PLAYS:,} plays in {time.perf_counter() - t:.1f} s"
        )
    else:
        for u in range(OTHERS):
            conn = connect(tmp / "history.db")
            insert(conn, _plays(f"user{u:02d}", OTHER_PLAYS, 100 + u))
            conn.close()
        print(f"{OTHERS} more users x {OTHER_PLAYS:,} plays stored with roll-ups in {time.perf_counter() - t:.1f} s")

    conn = connect(tmp / "history.db")
    conn.execute("ANALYZE")
    conn.close()


def _requests(tmp: Path) -> None:
    conn = connect(tmp / "history.db")
    tune_reader(conn)  # as the gateway sets its reader
    engine = make_engine(tmp / "gateway.db")
    ensure_index(engine)  # as the gateway does when it starts
    state = SimpleNamespace(history=conn, insight_prefs=Prefs(engine, TZ), view_engine=engine)
    now = END
    ranges = {
        "week": ("week", None, None),
        "month": ("month", None, None),
        "year": ("year", None, None),
        "all": ("all", None, None),
        "custom quarter": ("custom", (now.date() - timedelta(days=120)).isoformat(), date(2026, 9, 30).isoformat()),
    }
    gc.collect()
    gc.freeze()  # as the gateway does once started
    rows = []
    for label, (kind, a, b) in ranges.items():
        times, cpu = [], []
        full = gc.get_stats()[2]["collections"]
        for _ in range(RUNS + 1):
            t, c = time.perf_counter(), time.thread_time()
            out = build(state, "heavy", kind, a, b, None, now)  # type: ignore[arg-type]
            json.dumps(out)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.thread_time() - c) * 1000)
        full = gc.get_stats()[2]["collections"] - full
        first, times, cpu = times[0], sorted(times[1:]), sorted(cpu[1:])
        p50, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
        c50, c95 = statistics.median(cpu), cpu[int(len(cpu) * 0.95) - 1]
        rows.append((label, out["totals"]["plays"], p50, p95))
        print(
            f"{label:>15}: {out['totals']['plays']:>9,} plays in range   p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   "
            f"max {times[-1]:6.1f} ms   first {first:6.1f} ms   CPU p50 {c50:6.1f} ms   CPU p95 {c95:6.1f} ms   "
            f"full collections {full}   load {os.getloadavg()[0]:.2f}"
        )
    worst = max(r[3] for r in rows)
    print(f"worst p95 {worst:.1f} ms (goal 100 ms; CPU: the request's own thread time, whatever else the machine runs)")
    size = (tmp / "history.db").stat().st_size
    print(f"history.db with roll-ups: {size / 1e6:,.0f} MB for {HEAVY + OTHERS * OTHER_PLAYS:,} plays")
    print(f"load average after the requests: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if os.environ.get("BENCH_INSIGHTS_REBUILD"):
        t = time.perf_counter()
        rebuild(conn)
        print(
            f"rebuild(): every roll-up recounted from {HEAVY + OTHERS * OTHER_PLAYS:,} plays "
            f"in {time.perf_counter() - t:.1f} s"
        )


if __name__ == "__main__":
    main()
