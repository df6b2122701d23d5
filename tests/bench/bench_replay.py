"""`brainstream replay`: rebuild the library catalog from 100k LIBRARY events, and the gateway's read model.

A private nats-server (file storage, like `brainstream up`) is provisioned from the contracts. LIBRARY gets
BENCH_REPLAY_EVENTS events the way library-svc writes them: `TrackImported` with its catalog entry (10 tracks per
album, 100 albums per artist) and, every 20th, a `TrackRemoved` of an earlier import. The catalog is then rebuilt
into a fresh SQLite file through the same code `brainstream replay library --into` runs, and events/s printed (goal:
20k/s). The gateway's read model is rebuilt from BENCH_REPLAY_JOURNEYS five-event journeys spread over the five
streams, on a server of its own (it folds every stream, the library events too). Run with `make bench` or
`uv run python tests/bench/bench_replay.py`.
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

import nats
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from contracts.acquire import TrackDownloaded, TrackTagged
from contracts.base import Message
from contracts.ingest import CandidateDiscovered
from contracts.library import CatalogEntry, TrackImported, TrackRemoved
from contracts.resolve import TrackResolved
from gateway.readmodel.replayable import GatewayProjection
from gateway.settings import Settings as GatewaySettings
from infra.natsserver import start_nats_server
from infra.ops.replay import ReplayOptions, replay
from infra.ops.scan import scan_batches
from infra.provision import provision
from library_svc.adapters.database import create_catalog_engine
from library_svc.adapters.schema import album_t, artist_t, track_t
from library_svc.replay import CatalogProjection
from library_svc.settings import Settings as LibrarySettings
from tests.support.samples import sample

EVENTS = int(os.environ.get("BENCH_REPLAY_EVENTS", "100000"))
JOURNEYS = int(os.environ.get("BENCH_REPLAY_JOURNEYS", "4000"))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
STAGES: tuple[type[Message], ...] = (CandidateDiscovered, TrackResolved, TrackDownloaded, TrackTagged, TrackImported)


async def publish_all(js: nats.js.JetStreamContext, items: list[Message]) -> float:
    """As the services publish: with `Nats-Msg-Id` and `Content-Type` headers (`Service.publish`)."""
    t0 = time.perf_counter()
    for i in range(0, len(items), 500):  # pipelined: 500 publishes in flight, each still acknowledged
        await asyncio.gather(*(js.publish(e.subject, e.to_json(), headers=headers(e)) for e in items[i : i + 500]))
    return time.perf_counter() - t0


def headers(event: Message) -> dict[str, str]:
    return {"Nats-Msg-Id": str(event.event_id), "Content-Type": "application/json"}


def library_events(n: int) -> tuple[list[Message], int]:
    """Imports with their catalog entry, and a removal of an earlier import every 20th event."""
    out: list[Message] = []
    imported: list[TrackImported] = []
    removed = 0
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        if i % 20 == 19:
            gone = imported[i // 3]
            event: Message = TrackRemoved(
                occurred_at=at, track_id=gone.track_id, recording_mbid=gone.recording_mbid, path=gone.path
            )
            removed += 1
        else:
            k = len(imported)
            artist, album = f"Artist {k // 1000:03}", f"Album {k // 10:05}"
            path = f"{artist}/{album} (2019)/1-{k % 10 + 1:02} Song {k}.flac"
            event = imported_event(path, at, artist, album, k)
            imported.append(event)  # type: ignore[arg-type]
        out.append(event)
    return out, len(imported) - removed


def imported_event(path: str, at: datetime, artist: str, album: str, k: int) -> TrackImported:
    return TrackImported(
        occurred_at=at,
        recording_mbid=uuid.uuid4(),
        track_id=uuid.uuid4().hex,
        path=path,
        size_bytes=30_000_000 + k,
        entry=CatalogEntry(
            title=f"Song {k}",
            artist=artist,
            album=album,
            album_artist=artist,
            track_number=k % 10 + 1,
            disc_number=1,
            year=2019,
            genres=["Synthwave" if k % 2 else "Darkwave"],
            added_at=at.replace(microsecond=0),
            mtime_ns=1_700_000_000_000_000_000 + k,
            duration_s=241.5,
            bitrate_kbps=900,
            sample_rate=44100,
            channels=2,
        ),
    )


def journeys(n: int) -> list[Message]:
    template = {cls: sample(cls) for cls in STAGES}
    out = []
    for j in range(n):
        cid = uuid.uuid4()
        for s, cls in enumerate(STAGES):
            at = T0 + timedelta(seconds=j * 10 + s)
            event = template[cls].model_copy(
                update={"event_id": uuid.uuid4(), "correlation_id": cid, "occurred_at": at}
            )
            out.append(event)
    return out


async def bench_gateway(tmp: Path) -> None:
    """On its own server: the gateway folds every stream, so the 100k LIBRARY events would be its work too."""
    server = start_nats_server(tmp / "nats-gateway", max_file_store=4096 * 1024 * 1024)
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await provision(js)
        trips = journeys(JOURNEYS)
        took = await publish_all(js, trips)
        print(f"wrote {len(trips):,} journey events over five streams in {took:.2f}s")
        gateway = GatewayProjection(GatewaySettings(BRAINSTREAM_DATA_DIR=tmp / "data"))
        result = await replay(js, gateway, tmp / "gateway.db", ReplayOptions())
        journeys_made = result.counts.get("journeys", 0)
        print(f"replay gateway: {result.read:,} events in {result.seconds:.2f}s = {result.rate:,.0f} events/s "
              f"({journeys_made:,} journeys; load average {os.getloadavg()[0]:.2f})")  # fmt: skip
        await nc.close()
    finally:
        server.stop()


async def bench_library(tmp: Path) -> None:
    server = start_nats_server(tmp / "nats-library", max_file_store=4096 * 1024 * 1024)
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await provision(js)
        events, expected = library_events(EVENTS)
        took = await publish_all(js, events)
        print(f"wrote {len(events):,} LIBRARY events in {took:.2f}s")
        for run in range(3):  # the stream reader alone: its CPU time does not depend much on the machine's load
            wall, cpu, n = time.perf_counter(), time.process_time(), 0
            async for batch in scan_batches(js, "LIBRARY"):
                n += len(batch)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"read only #{run + 1}: {n:,} events in {wall:.2f}s wall, {cpu:.2f}s CPU of this process "
                  f"({n / wall:,.0f} events/s; load average {os.getloadavg()[0]:.2f})")  # fmt: skip
        projection = CatalogProjection(LibrarySettings(BRAINSTREAM_DATA_DIR=tmp / "data"))
        rates = []
        for run in range(3):
            store = tmp / f"catalog-{run}.db"
            result = await replay(js, projection, store, ReplayOptions())
            rates.append(result.rate)
            engine = create_catalog_engine(f"sqlite:///{store}")
            with engine.connect() as conn:
                tracks = conn.execute(select(func.count()).select_from(track_t)).scalar()
                albums = conn.execute(select(func.count()).select_from(album_t)).scalar()
                artists = conn.execute(select(func.count()).select_from(artist_t)).scalar()
            engine.dispose()
            assert tracks == expected, (tracks, expected)
            print(f"replay library #{run + 1}: {result.read:,} events in {result.seconds:.2f}s = "
                  f"{result.rate:,.0f} events/s ({tracks:,} tracks, {albums:,} albums, {artists:,} artists; "
                  f"load average {os.getloadavg()[0]:.2f})")  # fmt: skip
        print(f"replay library: best {max(rates):,.0f} events/s, median {sorted(rates)[1]:,.0f} events/s "
              f"(goal 20,000)")  # fmt: skip
        await nc.close()
    finally:
        server.stop()


async def main() -> None:
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_name:
        await bench_library(Path(tmp_name))
        await bench_gateway(Path(tmp_name))


if __name__ == "__main__":
    asyncio.run(main())
