"""library-svc: the OpenSubsonic API over a 100k-track catalog, and importing / rescanning 10k real files.

Prints, for getAlbumList2, search3, getArtists, getAlbum and stream: p50/p99 latency and req/s with 20 concurrent
clients (the API runs in its own process, as in production; the load generator in this one). Then: a folder
import (scan) of 10k real audio files in files/s, an unchanged rescan of them, and the pipeline import path
(TrackTagged → rename → catalog) in files/s.
Run with `make bench` (or `uv run python tests/bench/bench_library.py`). BENCH_LIBRARY_TRACKS / _FILES / _REQUESTS
shrink it for a quick look.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx

from tests.support.audio import EXTENSIONS, make_audio, write_tags

TRACKS = int(os.environ.get("BENCH_LIBRARY_TRACKS", "100000"))
FILES = int(os.environ.get("BENCH_LIBRARY_FILES", "10000"))
REQUESTS = int(os.environ.get("BENCH_LIBRARY_REQUESTS", "2000"))
CONCURRENCY = 20
WORDS = [
    "amber",
    "blue",
    "cold",
    "dark",
    "echo",
    "fire",
    "glass",
    "harbour",
    "iron",
    "jade",
    "kite",
    "lunar",
    "mirror",
    "night",
    "ocean",
    "paper",
]


def serve(db_url: str, root: str, port: int) -> None:
    import uvicorn

    from library_svc.adapters.catalogreader import CatalogReader
    from library_svc.adapters.database import create_catalog_engine
    from library_svc.adapters.userdata import UserStore
    from library_svc.api.asgi import SubsonicApp
    from library_svc.api.context import ApiContext

    class Scanner:
        scanning, count = False, 0

    async def publish(event: Any) -> None:
        return None

    engine = create_catalog_engine(db_url)
    ctx = ApiContext(CatalogReader(engine), UserStore(engine), Path(root), Scanner(), publish, "bench")
    uvicorn.run(SubsonicApp(ctx), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def build_catalog(db_url: str, root: Path) -> dict[str, list[str]]:
    from library_svc.adapters.catalog import SqlCatalog
    from library_svc.adapters.database import create_catalog_engine, create_schema
    from library_svc.domain import ids
    from library_svc.domain.model import AudioProps, TrackInfo

    engine = create_catalog_engine(db_url)
    create_schema(engine)
    catalog = SqlCatalog(engine)
    rng = random.Random(1)
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    per_album, per_artist = 10, 5
    batch: list[TrackInfo] = []
    streamable: list[str] = []
    started = time.perf_counter()
    for i in range(TRACKS):
        album_no, track_no = divmod(i, per_album)
        artist_no = album_no // per_artist
        artist = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {artist_no}"
        artist = f"Artist {artist_no} {WORDS[artist_no % len(WORDS)].title()}"
        title = " ".join(rng.choice(WORDS) for _ in range(3)).title()
        path = f"{artist}/Album {album_no}/{track_no + 1:02d} {title}.mp3"
        batch.append(
            TrackInfo(
                path=path,
                size=17_000,
                mtime_ns=i,
                title=title,
                artist=artist,
                album=f"Album {album_no} {WORDS[album_no % len(WORDS)].title()}",
                album_artist=artist,
                created=t0 + timedelta(minutes=i),
                track_no=track_no + 1,
                disc_no=1,
                year=1960 + album_no % 60,
                genres=(("Rock", "Jazz", "Pop", "Ambient", "Folk")[album_no % 5],),
                audio=AudioProps(duration_s=180, bitrate_kbps=320, sample_rate=44100, channels=2),
            )
        )
        if i < 50:
            streamable.append(ids.track_id(path))
            make_audio(root / path, "mp3", 1.0)
        if len(batch) == 5000:
            catalog.upsert(batch)
            batch = []
    catalog.upsert(batch)
    print(f"catalog: {TRACKS} tracks written in {time.perf_counter() - started:.1f}s")
    with engine.connect() as conn:
        from sqlalchemy import select

        from library_svc.adapters.schema import album_t

        albums = [r[0] for r in conn.execute(select(album_t.c.id))]
    engine.dispose()
    return {"albums": albums, "tracks": streamable}


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str) -> bytes:
    """One keep-alive HTTP/1.1 GET; a lean client so the load generator costs the shared CPUs little."""
    writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\nX-Brainstream-User: bench\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = head[9:12]
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length)
    if status not in (b"200", b"206"):
        raise SystemExit(f"{target}: HTTP {status.decode()}")
    return body


async def load(port: int, name: str, make_params: Any, n: int) -> dict[str, float]:
    latencies: list[float] = []
    queue = list(range(n))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(2):  # warm-up
                await _get(reader, writer, f"/rest/{name}?{urlencode(make_params(0))}")
            await ready.wait()
            while queue:
                target = f"/rest/{name}?{urlencode(make_params(queue.pop()))}"
                t = time.perf_counter()
                body = await _get(reader, writer, target)
                latencies.append(time.perf_counter() - t)
                if name != "stream" and b'status="ok"' not in body[:400]:
                    raise SystemExit(f"{name} failed: {body[:300]!r}")
        finally:
            writer.close()

    ready = asyncio.Event()
    workers = [asyncio.create_task(worker()) for _ in range(CONCURRENCY)]
    await asyncio.sleep(1.0)
    started = time.perf_counter()
    ready.set()
    await asyncio.gather(*workers)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "rps": n / wall,
    }


def api_bench(tmp: Path) -> None:
    root = tmp / "music"
    db_url = f"sqlite:///{tmp / 'catalog.db'}"
    ids = build_catalog(db_url, root)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, __file__, "serve", db_url, str(root), str(port)])
    try:
        _wait_up(port)
        rng = random.Random(2)
        kinds = ["newest", "random", "alphabeticalByName", "alphabeticalByArtist", "byGenre", "byYear"]

        def album_list(i: int) -> dict[str, Any]:
            kind = kinds[i % len(kinds)]
            extra = {"genre": "Jazz"} if kind == "byGenre" else {"fromYear": 1990, "toYear": 1999}
            return {"type": kind, "size": 20, "offset": rng.randrange(0, 500), **extra}

        def search(i: int) -> dict[str, Any]:
            return {"query": rng.choice(WORDS)[:4], "artistCount": 10, "albumCount": 10, "songCount": 20}

        def sync_page(i: int) -> dict[str, Any]:  # a client syncing the whole library: empty query, paged
            offset = rng.randrange(0, TRACKS - 100)
            return {"query": "", "artistCount": 0, "albumCount": 0, "songCount": 100, "songOffset": offset}

        cases = {
            "getAlbumList2": album_list,
            "search3": search,
            "search3 sync": sync_page,
            "getArtists": lambda i: {},
            "getAlbum": lambda i: {"id": rng.choice(ids["albums"])},
            "stream": lambda i: {"id": rng.choice(ids["tracks"])},
        }
        print(f"\nOpenSubsonic API, {TRACKS} tracks, {CONCURRENCY} concurrent clients, {REQUESTS} requests each")
        print("search3: a word prefix, 10 artists/10 albums/20 songs; search3 sync: empty query, 100 songs a page")
        print(f"{'endpoint':<16}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
        for name, make in cases.items():
            n = REQUESTS if name != "getArtists" else max(200, REQUESTS // 5)
            r = asyncio.run(load(port, name.split()[0], make, n))
            print(f"{name:<16}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}{r['rps']:>10.0f}")
    finally:
        proc.terminate()
        proc.wait(10)


def make_files(root: Path, n: int) -> None:
    """n real files: copies of a few encoded seeds, each with its own tags (fast: no encoding per file)."""
    seeds = {fmt: make_audio(root.parent / f"seed{EXTENSIONS[fmt]}", fmt, 1.0) for fmt in ("mp3", "flac", "ogg")}
    for i in range(n):
        fmt = ("mp3", "flac", "ogg")[i % 3]
        album_no = i // 10
        path = root / f"Artist {album_no // 5}" / f"Album {album_no}" / f"{i % 10 + 1:02d} Track {i}{EXTENSIONS[fmt]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seeds[fmt], path)
        tags = {
            "title": f"Track {i}",
            "artist": f"Artist {album_no // 5}",
            "albumartist": f"Artist {album_no // 5}",
            "album": f"Album {album_no}",
            "tracknumber": str(i % 10 + 1),
            "date": str(1980 + album_no % 40),
            "genre": "Rock",
        }
        write_tags(path, fmt, tags)


def import_bench(tmp: Path) -> None:
    from library_svc.adapters.catalog import SqlCatalog
    from library_svc.adapters.database import create_catalog_engine, create_schema
    from library_svc.adapters.owned import NoOwnedIndex
    from library_svc.scanning import Scanner

    root = tmp / "import" / "music"
    t = time.perf_counter()
    make_files(root, FILES)
    print(f"\ngenerated {FILES} real files (copied seeds, own tags) in {time.perf_counter() - t:.1f}s")
    engine = create_catalog_engine(f"sqlite:///{tmp / 'import' / 'catalog.db'}")
    create_schema(engine)

    async def nothing(event: Any) -> None:
        return None

    scanner = Scanner(root, SqlCatalog(engine), nothing, NoOwnedIndex())
    first = asyncio.run(scanner.scan())
    assert first is not None and first.added == FILES, first
    took = first.duration_ms / 1000
    print(f"folder import: {FILES} files in {took:.2f}s = {FILES / took:.0f} files/s")
    again = asyncio.run(scanner.scan())
    assert again is not None and again.unchanged == FILES, again
    print(f"unchanged rescan: {FILES} files in {again.duration_ms / 1000:.2f}s")
    pipeline_bench(tmp, min(FILES, 2000))


def pipeline_bench(tmp: Path, n: int) -> None:
    """TrackTagged → checksum → rename into the library → catalog upsert, one message at a time."""
    from contracts.acquire import TrackTagged
    from contracts.common import AlbumSource, TrackMetadata
    from library_svc.adapters.catalog import SqlCatalog
    from library_svc.adapters.database import create_catalog_engine, create_schema
    from library_svc.adapters.files import LocalFiles
    from library_svc.adapters.owned import NoOwnedIndex
    from library_svc.service import Library, NoTrigger
    from library_svc.settings import DEFAULT_PATH_TEMPLATE

    staging = tmp / "pipeline" / "staging"
    staging.mkdir(parents=True)
    seed = make_audio(tmp / "pipeline" / "seed.mp3", "mp3", 1.0)
    data = seed.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    events = []
    for i in range(n):
        path = staging / f"{i}.mp3"
        shutil.copyfile(seed, path)
        meta = TrackMetadata(
            recording_mbid=uuid.uuid4(),
            title=f"Song {i}",
            artist=f"Artist {i // 50}",
            album_artist=f"Artist {i // 50}",
            album=f"Album {i // 10}",
            album_source=AlbumSource.MUSICBRAINZ,
            track_number=i % 10 + 1,
            year=2001,
        )
        events.append(
            TrackTagged(track=meta, staging_path=str(path), format="mp3", size_bytes=len(data), sha256=digest)
        )
    engine = create_catalog_engine(f"sqlite:///{tmp / 'pipeline' / 'catalog.db'}")
    create_schema(engine)

    async def nothing(event: Any) -> None:
        return None

    library = Library(
        tmp / "pipeline" / "music",
        SqlCatalog(engine),
        nothing,
        NoOwnedIndex(),
        lambda: DEFAULT_PATH_TEMPLATE,
        NoTrigger(),
        LocalFiles(),
    )

    async def run() -> float:
        started = time.perf_counter()
        for seq, event in enumerate(events, 1):
            await library.import_tagged(event, seq)
        return time.perf_counter() - started

    took = asyncio.run(run())
    print(f"pipeline import (TrackTagged → library, one transaction each): {n} files in {took:.2f}s", end="")
    print(f" = {n / took:.0f} files/s")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/rest/ping", params={"u": "bench"}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the API did not start")


def main() -> None:
    print(f"library-svc bench on {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        api_bench(Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        import_bench(Path(tmp))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
