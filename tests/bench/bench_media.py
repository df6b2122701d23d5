"""library-svc's media work: FLAC → 128 kbps MP3 transcodes streamed at once, and getCoverArt&size=300 cold and warm.

Builds a music folder (one 60 s FLAC; BENCH_MEDIA_ALBUMS albums, default 300, each with a 1400x1400 JPEG cover and a
short track), serves library-svc's OpenSubsonic API in its own process (transcode cache off, so every stream runs
ffmpeg), then measures from this process:
- transcoding: N streams of the FLAC at once (format=mp3&maxBitRate=128), each read as fast as it comes; the audio
  seconds delivered per wall second is how many listeners the machine keeps fed in real time;
- covers: every album's cover at size=300, 8 clients at once, first with an empty cover cache (resize with Pillow),
  then again (served from the cache): p50 and p99.
Run with `make bench` (or `uv run python tests/bench/bench_media.py`).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.audio import make_audio
from tests.support.stack import free_port

ALBUMS = int(os.environ.get("BENCH_MEDIA_ALBUMS", "300"))
TRACK_S = 60.0
STREAMS = (1, 2, 4, 8, 12)
HEADERS = {"X-Brainstream-User": "bench"}


def build_folder(root: Path) -> None:
    from PIL import Image

    make_audio(root / "Bench" / "Long" / "01 Long.flac", "flac", TRACK_S, tags={"title": "Long", "artist": "Bench"})
    short = root / "_short.mp3"
    make_audio(short, "mp3", 1.0)
    rng = random.Random(7)
    base = Image.linear_gradient("L").resize((1400, 1400)).convert("RGB")
    for i in range(ALBUMS):
        folder = root / f"Artist {i % 50}" / f"Album {i}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "01 Track.mp3").write_bytes(short.read_bytes())
        tint = Image.new("RGB", base.size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        Image.blend(base, tint, 0.5).save(folder / "cover.jpg", quality=90)
    short.unlink()


def serve(root: str, data: str, port: int) -> None:
    """The API in a process of its own (the transcodes are ffmpeg processes either way)."""
    import uvicorn
    from sqlalchemy import Engine

    from library_svc.adapters.catalog import SqlCatalog
    from library_svc.adapters.database import create_catalog_engine, create_schema
    from library_svc.adapters.extrastore import ExtraStore
    from library_svc.adapters.userdata import UserStore
    from library_svc.api.asgi import SubsonicApp
    from library_svc.api.reads import CatalogReader
    from library_svc.api.request import ApiContext
    from library_svc.domain.versions import Versions
    from library_svc.media.support import Media
    from library_svc.scanning import Scanner

    class Owned:
        async def sync(self, owned: object) -> tuple[int, int]:
            return 0, 0

        async def put(self, *a: object) -> None:
            return None

        async def delete(self, *a: object) -> None:
            return None

    async def nothing(event: object) -> None:
        return None

    engine: Engine = create_catalog_engine(f"sqlite:///{data}/catalog.db")
    create_schema(engine)
    versions = Versions()
    scanner = Scanner(Path(root), SqlCatalog(engine, on_change=versions.bump_catalog), nothing, Owned())
    asyncio.run(scanner.scan())
    media = Media.build(Path(data) / "cache", transcode_cache_bytes=0, cover_cache_bytes=1 << 30)
    ctx = ApiContext(
        CatalogReader(engine, versions),
        UserStore(engine),
        Path(root),
        scanner,
        nothing,
        "bench",
        versions=versions,
        extras=ExtraStore(engine),
        media=media,
    )
    uvicorn.run(SubsonicApp(ctx), host="127.0.0.1", port=port, log_level="warning", http="httptools")


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession(headers=HEADERS) as s:
        for _ in range(1200):
            try:
                async with s.get(f"{url}/rest/ping") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("the API did not start")


async def ids(url: str) -> tuple[str, list[str]]:
    async with aiohttp.ClientSession(headers=HEADERS) as s:
        async with s.get(f"{url}/rest/search3", params={"query": "long", "f": "json"}) as r:
            song = (await r.json())["subsonic-response"]["searchResult3"]["song"][0]["id"]
        async with s.get(
            f"{url}/rest/getAlbumList2", params={"type": "alphabeticalByName", "size": "500", "f": "json"}
        ) as r:
            found = (await r.json())["subsonic-response"]["albumList2"]["album"]
    return song, [a["id"] for a in found if a["name"].startswith("Album ")]  # the ones with a cover


async def transcodes(url: str, song: str, n: int) -> tuple[float, float, float]:
    """(audio seconds per wall second over all n streams, slowest stream's speed, median first-byte ms)."""
    params = {"id": song, "format": "mp3", "maxBitRate": "128"}
    firsts: list[float] = []
    walls: list[float] = []

    async def one(s: aiohttp.ClientSession) -> None:
        t = time.perf_counter()
        async with s.get(f"{url}/rest/stream", params=params) as r:
            first = True
            async for _ in r.content.iter_chunked(64 * 1024):
                if first:
                    firsts.append((time.perf_counter() - t) * 1000)
                    first = False
            if r.status != 200 or r.headers["content-type"] != "audio/mpeg":
                raise SystemExit(f"stream answered {r.status} {r.headers.get('content-type')}")
        walls.append(time.perf_counter() - t)

    async with aiohttp.ClientSession(headers=HEADERS) as s:
        started = time.perf_counter()
        await asyncio.gather(*(one(s) for _ in range(n)))
        took = time.perf_counter() - started
    return n * TRACK_S / took, TRACK_S / max(walls), statistics.median(firsts)


async def covers(url: str, albums: list[str]) -> tuple[float, float]:
    times: list[float] = []
    todo = iter(albums)

    async def worker(s: aiohttp.ClientSession) -> None:
        for album in todo:
            t = time.perf_counter()
            async with s.get(f"{url}/rest/getCoverArt", params={"id": album, "size": "300"}) as r:
                body = await r.read()
                if r.status != 200 or not r.headers["content-type"].startswith("image/") or len(body) < 1000:
                    raise SystemExit(f"cover of {album}: {r.status} {r.headers.get('content-type')}")
            times.append((time.perf_counter() - t) * 1000)

    async with aiohttp.ClientSession(headers=HEADERS) as s:
        await asyncio.gather(*(worker(s) for _ in range(8)))
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp) / "music", Path(tmp) / "data"
        data.mkdir()
        t = time.perf_counter()
        build_folder(root)
        took = time.perf_counter() - t
        print(f"folder: 1 FLAC of {TRACK_S:.0f} s, {ALBUMS} albums with 1400x1400 JPEG covers ({took:.1f} s)")
        port = free_port()
        proc = multiprocessing.get_context("spawn").Process(target=serve, args=(str(root), str(data), port))
        proc.start()
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_up(url)
            song, albums = await ids(url)
            print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}")
            print("\nFLAC -> MP3 128 kbps, N streams at once (transcode cache off)")
            print(f"{'streams':>8} {'audio s / wall s':>17} {'slowest stream':>15} {'first byte p50':>15}")
            for n in STREAMS:
                rate, slowest, first = await transcodes(url, song, n)
                print(f"{n:>8} {rate:>16.1f}x {slowest:>14.1f}x {first:>12.0f} ms")
            print(f"\ngetCoverArt&size=300, {len(albums)} albums, 8 clients")
            cold = await covers(url, albums)
            warm = await covers(url, albums)
            print(f"  cold (Pillow resize): p50 {cold[0]:.1f} ms, p99 {cold[1]:.1f} ms")
            print(f"  warm (disk cache):    p50 {warm[0]:.1f} ms, p99 {warm[1]:.1f} ms")
        finally:
            proc.terminate()
            proc.join(10)


if __name__ == "__main__":
    asyncio.run(main())
