"""The web UI's library browser over a big library: /api/library/* through the gateway vs the Subsonic call behind it.

Builds a library-svc catalog (50k tracks = 5,000 albums of 1,000 artists by default), serves its OpenSubsonic API
(own process), starts nats-server and the gateway (`python -m gateway`, own process) in front of it, and feeds the
gateway's read model 2,000 pipeline imports of catalog tracks, so track lists carry journey links. Then measures,
from this process, p50/p99 and req/s with 10 concurrent clients for each page a user opens, next to the upstream
call it makes. Run with `make bench` (or `uv run python tests/bench/bench_library_browser.py`).
Env: BENCH_BROWSER_TRACKS (default 50000), BENCH_BROWSER_REQUESTS (default 500 per case).
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ["BENCH_LIBRARY_TRACKS"] = os.environ.get("BENCH_BROWSER_TRACKS", "50000")

import bench_library

from tests.support.stack import free_port, gateway_env, provision_at, stop_all, wait_http_ok

REQUESTS = int(os.environ.get("BENCH_BROWSER_REQUESTS", "500"))
CONCURRENCY = 10
JOURNEYS = 2000


async def load(session: aiohttp.ClientSession, make_url: Callable[[int], str], n: int) -> tuple[float, float, float]:
    """p50 ms, p99 ms, req/s of n GETs, CONCURRENCY at a time; any non-200 answer stops the bench."""
    times: list[float] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            t = time.perf_counter()
            async with session.get(make_url(i)) as r:
                await r.read()
                if r.status != 200:
                    raise SystemExit(f"{make_url(i)} answered {r.status}")
            times.append((time.perf_counter() - t) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    took = time.perf_counter() - started
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1], n / took


async def feed_journeys(nats_url: str, track_paths: list[str]) -> None:
    """TrackImported events for catalog tracks, as library-svc would have published them."""
    import nats

    from contracts.library import TrackImported
    from library_svc.domain.ids import track_id

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    for path in track_paths:
        e = TrackImported(recording_mbid=uuid.uuid4(), track_id=track_id(path), path=path, size_bytes=17_000)
        await js.publish(e.subject, e.to_json(), headers={"Nats-Msg-Id": str(e.event_id)})
    await nc.close()


async def measure(gw: str, up: str, nats_url: str, albums: list[str], artists: int) -> None:
    rng = random.Random(3)
    tracks = bench_library.TRACKS
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        r = await s.post(f"{gw}/api/login", json={"username": "bench", "password": "bench-password"})
        assert r.status == 201, await r.text()
        # the read model has the journeys once the last one is applied
        deadline = time.monotonic() + 300
        while True:
            async with s.get(f"{gw}/api/tracks/counts") as c:
                if (await c.json()).get("imported", 0) >= JOURNEYS:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the gateway did not apply the journeys")
            await asyncio.sleep(0.5)
        albums_n = len(albums)
        q = "&u=bench&f=json"
        cases: list[tuple[str, Callable[[int], str], Callable[[int], str]]] = [
            (
                "albums page (60)",
                lambda i: f"{gw}/api/library/albums?offset={rng.randrange(0, albums_n - 60)}&limit=60",
                lambda i: (
                    f"{up}/rest/getAlbumList2?type=alphabeticalByName&size=61&offset={rng.randrange(0, albums_n)}{q}"
                ),
            ),
            (
                "artists page (200)",
                lambda i: f"{gw}/api/library/artists?offset={rng.randrange(0, max(1, artists - 200))}&limit=200",
                lambda i: f"{up}/rest/getArtists?{q[1:]}",
            ),
            (
                "album detail",
                lambda i: f"{gw}/api/library/albums/{rng.choice(albums)}",
                lambda i: f"{up}/rest/getAlbum?id={rng.choice(albums)}{q}",
            ),
            (
                "tracks page (100)",
                lambda i: f"{gw}/api/library/tracks?offset={rng.randrange(0, tracks - 100)}&limit=100",
                lambda i: (
                    f"{up}/rest/search3?query=&artistCount=0&albumCount=0&songCount=101"
                    f"&songOffset={rng.randrange(0, tracks - 100)}{q}"
                ),
            ),
            (
                "search",
                lambda i: f"{gw}/api/library/search?q={rng.choice(bench_library.WORDS)[:4]}",
                lambda i: f"{up}/rest/search3?query={rng.choice(bench_library.WORDS)[:4]}{q}",
            ),
            (
                "library page (HTML)",
                lambda i: f"{gw}/library?page={rng.randrange(1, albums_n // 48)}",
                lambda i: (
                    f"{up}/rest/getAlbumList2?type=alphabeticalByName&size=49&offset={rng.randrange(0, albums_n)}{q}"
                ),
            ),
        ]
        up_headers = {"X-Brainstream-User": "bench"}
        async with aiohttp.ClientSession(headers=up_headers) as direct:
            print(f"{'page':<22}{'gateway p50':>12}{'p99':>8}{'req/s':>8}   {'upstream p50':>12}{'p99':>8}{'req/s':>8}")
            for name, via_gateway, upstream in cases:
                await load(s, via_gateway, 20)  # warm-up
                g = await load(s, via_gateway, REQUESTS)
                d = await load(direct, upstream, REQUESTS)
                print(f"{name:<22}{g[0]:>12.1f}{g[1]:>8.1f}{g[2]:>8.0f}   {d[0]:>12.1f}{d[1]:>8.1f}{d[2]:>8.0f}")
        # how many tracks of a track page carry a journey link (2,000 of the catalog's tracks were imported)
        async with s.get(f"{gw}/api/library/tracks?limit=500") as r:
            page = await r.json()
        linked = sum(1 for t in page["items"] if t["pipeline"])
        print(f"first track page: {linked} of {len(page['items'])} tracks link to their journey")


def main() -> None:
    from infra.natsserver import start_nats_server

    load_now = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load_now[0]:.2f} {load_now[1]:.2f} {load_now[2]:.2f}"
    )
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        db_url = f"sqlite:///{tmp / 'catalog.db'}"
        ids = bench_library.build_catalog(db_url, tmp / "music")
        from sqlalchemy import create_engine, func, select

        from library_svc.adapters.schema import artist_t, track_t

        engine = create_engine(db_url)
        with engine.connect() as conn:
            artists = conn.execute(select(func.count()).select_from(artist_t)).scalar_one()
            paths = [r[0] for r in conn.execute(select(track_t.c.path).order_by(track_t.c.path).limit(JOURNEYS))]
        engine.dispose()
        print(f"library: {bench_library.TRACKS} tracks, {len(ids['albums'])} albums, {artists} artists")
        nats_server = start_nats_server(tmp / "nats")
        procs: list[subprocess.Popen[bytes]] = []
        try:
            provision_at(nats_server.url)
            up_port, gw_port = free_port(), free_port()
            serve = [sys.executable, bench_library.__file__, "serve", db_url, str(tmp / "music"), str(up_port)]
            procs.append(subprocess.Popen(serve))
            env = gateway_env(tmp / "data", nats_server.url, gw_port, f"http://127.0.0.1:{up_port}")
            procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env))
            gw, up = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{up_port}"
            asyncio.run(wait_http_ok([f"{gw}/api/health", f"{up}/rest/ping?u=bench"]))
            asyncio.run(feed_journeys(nats_server.url, paths))
            print(f"{REQUESTS} requests per case, {CONCURRENCY} concurrent clients; upstream: the call behind it")
            asyncio.run(measure(gw, up, nats_server.url, ids["albums"], artists))
        finally:
            stop_all(procs)
            nats_server.stop()


if __name__ == "__main__":
    main()
