"""The whole pipeline: tracks/min through `brainstream up` at zero external latency, against a single-process loop
doing only the same file work; and the stack's memory, idle and during the run.

- Stack: a generated world of BENCH_E2E_TRACKS recordings (default 500; tests/support/loopworld.py) served by
  loopback fakes (no added latency, rate limits scaled up 50x like the e2e suite), audio from the inbox backend,
  real two-stage tagging, real library import. The stack starts without the ListenBrainz account; once it is idle
  the account is set through the gateway (as the settings page does), which starts one run of all N. Timed from
  that request to the N-th `TrackImported`.
- Baseline: one process, one loop, the same file work per track and nothing else: copy the inbox file to staging,
  acquire-svc's tagger stage 1 and stage 2 (with the same cover bytes), library-svc's import (rename into the
  library, one catalog transaction). No NATS, no HTTP, no resolution.
- Memory: the RSS of every process of the stack (runner, nats-server, five services), idle before the run and the
  peak of the sum sampled every 0.5 s during it.

Run with `make bench` (or `uv run python tests/bench/bench_e2e_pipeline.py`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nats

from acquire_svc.adapters.tagger import Tagger
from acquire_svc.domain.tagplan import Enrichment, core_tags
from contracts.acquire import TrackTagged
from contracts.common import AlbumSource, ArtistCredit, TrackMetadata
from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.database import create_catalog_engine, create_schema
from library_svc.adapters.files import LocalFiles
from library_svc.service import Library, NoTrigger
from library_svc.settings import DEFAULT_PATH_TEMPLATE
from tests.support.loopstack import LoopStack, loop_stack, set_accounts, stack_rss_kib, subject_counts
from tests.support.loopworld import LoopWorld, WorldTrack
from tests.support.stack import health

TRACKS = int(os.environ.get("BENCH_E2E_TRACKS", "500"))


def _metadata(t: WorldTrack) -> TrackMetadata:
    return TrackMetadata(
        recording_mbid=uuid.UUID(t.recording_mbid),
        title=t.title,
        artist=t.artist,
        artist_credit=[ArtistCredit(name=n, join_phrase=j, mbid=uuid.UUID(m)) for n, j, m in t.credit],
        album_artist=t.album_artist,
        album=t.album,
        album_source=AlbumSource.MUSICBRAINZ,
        release_group_mbid=uuid.UUID(t.release_group_mbid),
        track_number=1 + t.n % 9,
        year=t.year,
        duration_ms=t.length_ms,
        genres=["indie"],
    )


async def baseline(root: Path, world: LoopWorld) -> float:
    """Seconds for the file work alone, one track after another in one process."""
    inbox, staging, music = root / "inbox", root / "staging", root / "music"
    files = world.drop_inbox(inbox)
    staging.mkdir(parents=True)
    engine = create_catalog_engine(f"sqlite:///{root / 'catalog.db'}")
    create_schema(engine)

    async def nothing(event: Any) -> None:
        return None

    class _NoOwned:
        async def put(self, *args: Any) -> None:
            return None

        async def delete(self, *args: Any) -> None:
            return None

    library = Library(
        music, SqlCatalog(engine), nothing, _NoOwned(), lambda: DEFAULT_PATH_TEMPLATE, NoTrigger(), LocalFiles()
    )
    tagger = Tagger(root / "scratch")
    t0 = time.perf_counter()
    for seq, (t, src) in enumerate(zip(world.tracks, files, strict=True), 1):
        staged = staging / f"{t.recording_mbid}{src.suffix}"
        shutil.copyfile(src, staged)
        meta = _metadata(t)
        plan = core_tags(meta, album_mbid=True)
        tagger.stage1(staged, t.fmt, plan)
        cover = next(iter(t.covers.values()))
        tagger.stage2(staged, t.fmt, plan, Enrichment(genres=meta.genres, cover=cover, cover_mime="image/jpeg"))
        data = staged.read_bytes()
        event = TrackTagged(
            track=meta,
            staging_path=str(staged),
            format=t.fmt,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        await library.import_tagged(event, seq)
    return time.perf_counter() - t0


async def whole_stack(stack: LoopStack) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while not ((h := health(stack.port)) and h["status"] == "ok"):
        if time.monotonic() > deadline:
            raise SystemExit(f"the stack did not become healthy:\n{stack.log_tail()}")
        await asyncio.sleep(0.5)
    await asyncio.sleep(5)  # let start-up work (scans, first polls) finish: idle means idle
    idle = stack_rss_kib(stack)
    url = stack.nats_url()
    assert url is not None
    nc = await nats.connect(url, name="bench-e2e")
    js = nc.jetstream()
    peak_total, peak = sum(idle.values()), dict(idle)
    t0 = time.perf_counter()
    await set_accounts(stack)
    n = stack.world.n
    imported = 0
    first: float | None = None
    while imported < n:
        if time.perf_counter() - t0 > 1800:
            raise SystemExit(f"only {imported}/{n} imported after 30 min:\n{stack.log_tail()}")
        await asyncio.sleep(0.5)
        counts = await subject_counts(js, "LIBRARY")
        imported = counts.get("library.track.imported", 0)
        if first is None and imported:
            first = time.perf_counter() - t0
        rss = stack_rss_kib(stack)
        if sum(rss.values()) > peak_total:
            peak_total, peak = sum(rss.values()), rss
        dead = {k: v for s in ("RESOLVE", "ACQUIRE", "DEADLETTER") for k, v in (await subject_counts(js, s)).items()}
        bad = {k: v for k, v in dead.items() if k.endswith(("unresolved", "failed")) or k.startswith("deadletter.")}
        if bad:
            raise SystemExit(f"tracks failed: {bad}\n{stack.log_tail()}")
    took = time.perf_counter() - t0
    await nc.close()
    return {"took": took, "first": first, "idle": idle, "peak": peak, "requests": stack.fakes.counts()}


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"whole pipeline, {TRACKS} tracks (inbox backend, real tagging, zero external latency)")
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        root = Path(tmp)
        base = asyncio.run(baseline(root / "baseline", LoopWorld(TRACKS)))
        print(f"  single-process file work: {TRACKS} tracks in {base:.1f}s = {TRACKS / base * 60:.0f} tracks/min")
        (root / "stack").mkdir()
        # resolve-svc adds a 0.1 s safety margin to every MusicBrainz gap (network jitter); on loopback that margin
        # alone would pace the whole run (about 8 lookups/s), so the bench takes it down to 2 ms
        margin = {"BRAINSTREAM_RATE_MARGIN": os.environ.get("BENCH_E2E_RATE_MARGIN", "0.002")}
        with loop_stack(root / "stack", LoopWorld(TRACKS), env_accounts=False, extra_env=margin) as stack:
            r = asyncio.run(whole_stack(stack))
        took = r["took"]
        print(
            f"  brainstream up:           {TRACKS} tracks in {took:.1f}s = {TRACKS / took * 60:.0f} tracks/min "
            f"(first import after {r['first']:.1f}s)"
        )
        print(
            f"  ratio stack/file work: {base / took:.2f} "
            f"(the stack runs at {100 * base / took:.0f}% of the file-work rate)"
        )
        print(f"  external requests: {r['requests']}")
        idle, peak = r["idle"], r["peak"]
        print(f"  RSS idle: {_mib(sum(idle.values()))} total; " + ", ".join(f"{k} {_mib(v)}" for k, v in idle.items()))
        print(f"  RSS peak: {_mib(sum(peak.values()))} total; " + ", ".join(f"{k} {_mib(v)}" for k, v in peak.items()))


if __name__ == "__main__":
    main()
