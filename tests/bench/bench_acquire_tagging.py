"""acquire-svc: two-stage tagging throughput, and acquisition end to end from the inbox backend.

Part 1, per format (mp3, flac, ogg, opus, m4a), N files each (BENCH_ACQUIRE_FILES, default 500):
- `tagger`: what the service does per file: stage 1 and stage 2, each on a copy that is read back, checked and
  renamed into place;
- `raw`: a plain loop of the same mutagen writes (open, clear, write the core tags, save; open, write cover and
  genres, save) in place, with no copy, no read-back and no rename;
- the ratio tagger/raw says what the safety costs.

Part 2: BENCH_ACQUIRE_TRACKS (default 100) files in the inbox and as many `TrackResolved` on a real nats-server;
acquire-svc (built by its composition root, in this process) takes each through gate → inbox match → copy →
validation → two-stage tagging → `TrackTagged`. Prints tracks/s from the first publish to the last tagged event.

Run with `make bench` (or `uv run python tests/bench/bench_acquire_tagging.py`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "acquire-svc" / "tests"))

import nats
from acquire_fakes import PNG, make_resolved, make_track

from acquire_svc.adapters.tagger import Tagger
from acquire_svc.adapters.tags import family_for
from acquire_svc.app import build
from acquire_svc.domain.tagplan import Enrichment, core_tags
from acquire_svc.settings import Settings
from contracts.acquire import TrackTagged
from infra.natsserver import start_nats_server
from infra.provision import provision
from tests.support.audio import EXTENSIONS, FORMATS, MUTAGEN_TYPES, make_audio

FILES = int(os.environ.get("BENCH_ACQUIRE_FILES", "500"))
TRACKS = int(os.environ.get("BENCH_ACQUIRE_TRACKS", "100"))


def prepare(folder: Path, fmt: str, n: int) -> list[Path]:
    src = make_audio(folder / f"src{EXTENSIONS[fmt]}", fmt, 3.0)
    paths = []
    for i in range(n):
        dest = folder / f"{i:04d}{EXTENSIONS[fmt]}"
        shutil.copyfile(src, dest)
        paths.append(dest)
    return paths


def bench_tagging(root: Path) -> None:
    track = make_track()
    plan = core_tags(track, album_mbid=True)
    enrichment = Enrichment(genres=track.genres, cover=PNG * 200, cover_mime="image/png")  # a ~14 KB image
    print(f"tagging, {FILES} files per format (3 s tones), stage 1 + stage 2:")
    print(f"  {'format':6} {'tagger files/s':>15} {'raw files/s':>12} {'ratio':>6}")
    for fmt in FORMATS:
        family = family_for(fmt)
        cls: Any = MUTAGEN_TYPES[fmt]  # opened by its class, as the tagger does (no format sniffing)
        tagged = prepare(root / f"t-{fmt}", fmt, FILES)
        raw = prepare(root / f"r-{fmt}", fmt, FILES)
        tagger = Tagger(root / "scratch")
        t0 = time.perf_counter()
        for path in tagged:
            tagger.stage1(path, fmt, plan)
            tagger.stage2(path, fmt, plan, enrichment)
        t_tagger = time.perf_counter() - t0
        t0 = time.perf_counter()
        for path in raw:
            audio: Any = cls(path)
            family.clear(audio)
            family.write_core(audio, plan)
            family.save(audio)
            audio = cls(path)
            family.write_enrichment(audio, enrichment)
            family.save(audio)
        t_raw = time.perf_counter() - t0
        rate_t, rate_r = FILES / t_tagger, FILES / t_raw
        print(f"  {fmt:6} {rate_t:15.0f} {rate_r:12.0f} {rate_t / rate_r:6.2f}")


async def bench_end_to_end(root: Path) -> None:
    server = start_nats_server(root / "nats", max_file_store=8 * 1024 * 1024 * 1024)
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await provision(js)
        data = root / "data"
        events = []
        for i in range(TRACKS):
            title = f"Tune{i:04d} Nocturne"
            track = make_track(title=title, artist="Bench Artist", duration_ms=3000, cover=None)
            fmt = FORMATS[i % len(FORMATS)]
            make_audio(data / "inbox" / f"Bench Artist - {title}{EXTENSIONS[fmt]}", fmt, 3.0)
            events.append(make_resolved(track))
        os.environ.update(
            {
                "NATS_URL": server.url,
                "BRAINSTREAM_DATA_DIR": str(data),
                "BRAINSTREAM_ACQUIRE_BACKENDS": "inbox",
                "BRAINSTREAM_FETCH_BATCH": "20",
            }
        )
        app = build(Settings())
        await app.runtime.start()
        tagged: list[float] = []
        done = asyncio.Event()

        async def on_tagged(msg: Any) -> None:
            tagged.append(time.perf_counter())
            if len(tagged) >= TRACKS:
                done.set()

        await nc.subscribe(TrackTagged.subject, cb=on_tagged)
        t0 = time.perf_counter()
        for ev in events:
            await js.publish(ev.subject, ev.to_json(), headers={"Nats-Msg-Id": str(ev.event_id)})
        await asyncio.wait_for(done.wait(), timeout=600)
        elapsed = tagged[-1] - t0
        await app.runtime.stop()
        await nc.close()
        staged = [p for p in (data / "staging").iterdir() if p.is_file()]
        print(
            f"end to end from the inbox: {TRACKS} tracks (5 formats, 3 s each) in {elapsed:.2f} s = "
            f"{TRACKS / elapsed:.1f} tracks/s; {len(staged)} staged files, {len(list((data / 'inbox').iterdir()))} "
            "left in the inbox"
        )
    finally:
        server.stop()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("faststream").setLevel(logging.WARNING)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="bench-acquire-") as tmp:
        root = Path(tmp)
        bench_tagging(root)
        asyncio.run(bench_end_to_end(root))


if __name__ == "__main__":
    main()
