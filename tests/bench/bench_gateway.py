"""Gateway speed: /rest direct vs through the gateway, a 10 MB stream, SSE fan-out to 100 clients, and a client mix
against the product's default upstream.

Part 1 starts its own nats-server, a constant-answer OpenSubsonic upstream (aiohttp, its own process) and the gateway
(`python -m gateway`, its own process), then measures from this process with aiohttp clients: the gateway's raw
ceiling. Part 2 starts library-svc (`python -m library_svc`, its own process) over real audio files it scans itself
(BENCH_GATEWAY_TRACKS, default 2,000) and a gateway in front of it, and replays a Subsonic client's mix of calls
(ping, getArtists, getAlbumList2, getAlbum, search3, getSong) from 20 keep-alive clients, direct and through the
gateway. Each phase also prints the CPU time per request of the gateway and the upstream processes (from /proc),
which, unlike req/s, does not depend on what else the machine is doing.
Run with `make bench` (or `uv run python tests/bench/bench_gateway.py`). Env: BENCH_GATEWAY_SECONDS (default 5),
BENCH_GATEWAY_TRACKS (default 2000), BENCH_GATEWAY_ROUNDS (default 3), BENCH_GATEWAY_PARTS (default "1,2").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.stack import BENCH_LIBRARY_SECRET, free_port, gateway_env, provision_at, stop_all, wait_http_ok

SECONDS = float(os.environ.get("BENCH_GATEWAY_SECONDS", "5"))
TRACKS = int(os.environ.get("BENCH_GATEWAY_TRACKS", "2000"))
ROUNDS = int(os.environ.get("BENCH_GATEWAY_ROUNDS", "3"))
PARTS = set(os.environ.get("BENCH_GATEWAY_PARTS", "1,2").split(","))
CONCURRENCY = 20
SSE_CLIENTS = 100
SSE_EVENTS = 20


# the fast fake upstream ---------------------------------------------------------------------------------------------


def serve_upstream(port: int) -> None:
    from aiohttp import web

    ping = json.dumps({"subsonic-response": {"status": "ok", "version": "1.16.1", "openSubsonic": True}}).encode()
    blob = bytes(range(256)) * (10 * 1024 * 4)  # 10 MiB

    async def rest_ping(_: web.Request) -> web.Response:
        return web.Response(body=ping, content_type="application/json")

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "audio/mpeg", "Content-Length": str(len(blob))})
        await resp.prepare(request)
        view = memoryview(blob)
        for i in range(0, len(blob), 256 * 1024):
            await resp.write(view[i : i + 256 * 1024])
        return resp

    app = web.Application()
    app.router.add_get("/rest/ping", rest_ping)
    app.router.add_get("/rest/ping.view", rest_ping)
    app.router.add_get("/rest/stream", stream)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# measuring ------------------------------------------------------------------------------------------------------------


async def load(url: str, params: dict[str, str]) -> tuple[float, float, int]:
    """Requests/s and p99 latency (ms) of CONCURRENCY clients hammering url for SECONDS."""
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + SECONDS
    conn = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=conn) as s:

        async def worker() -> None:
            nonlocal errors
            while time.monotonic() < stop:
                t = time.perf_counter()
                async with s.get(url, params=params) as r:
                    body = await r.read()
                    if r.status != 200 or b'"ok"' not in body:
                        errors += 1
                latencies.append(time.perf_counter() - t)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return len(latencies) / elapsed, latencies[int(len(latencies) * 0.99)] * 1000, errors


async def stream_rate(url: str, params: dict[str, str]) -> float:
    rates = []
    async with aiohttp.ClientSession() as s:
        for _ in range(5):
            t = time.perf_counter()
            size = 0
            async with s.get(url, params=params) as r:
                async for chunk in r.content.iter_chunked(256 * 1024):
                    size += len(chunk)
            rates.append(size / (time.perf_counter() - t) / 1e6)
    return statistics.median(rates)


async def sse_fanout(base: str, token: str, nats_url: str) -> tuple[float, float, int]:
    """100 clients on /api/events; SSE_EVENTS events published; delivery latency p50/p99 (ms) and events received."""
    import nats

    from contracts.ingest import PollFailed, PollFailureReason

    received: list[float] = []
    sent_at: dict[str, float] = {}
    ready = asyncio.Semaphore(0)
    headers = {"Authorization": f"Bearer {token}"}

    async def client(s: aiohttp.ClientSession) -> None:
        async with s.get(f"{base}/api/events", headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as r:
            got = 0
            async for raw in r.content:
                line = raw.decode()
                if line.startswith(": connected"):  # sent once the server listens: nothing published after is missed
                    ready.release()
                if line.startswith("data: "):
                    detail = json.loads(line[6:])
                    key = f"{detail['stream']}:{detail['seq']}"
                    received.append(time.perf_counter() - sent_at.get(key, time.perf_counter()))
                    got += 1
                    if got == SSE_EVENTS:
                        return

    conn = aiohttp.TCPConnector(limit=SSE_CLIENTS + 10)
    async with aiohttp.ClientSession(connector=conn) as s:
        tasks = [asyncio.create_task(client(s)) for _ in range(SSE_CLIENTS)]
        for _ in range(SSE_CLIENTS):
            await ready.acquire()
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        for _ in range(SSE_EVENTS):
            e = PollFailed(source="cf", reason=PollFailureReason.TIMEOUT)
            t = time.perf_counter()
            ack = await js.publish(e.subject, e.to_json(), headers={"Nats-Msg-Id": str(e.event_id)})
            sent_at[f"{ack.stream}:{ack.seq}"] = t
            await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
        except TimeoutError:
            print(f"  SSE: only {len(received)} of {SSE_CLIENTS * SSE_EVENTS} deliveries within 30 s")
        await nc.close()
    received.sort()
    return received[len(received) // 2] * 1000, received[int(len(received) * 0.99)] * 1000, len(received)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU microseconds per request of the given processes over one measured phase."""

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def per_request(self, requests: int) -> str:
        used = {name: cpu_seconds(pid) - self.start[name] for name, pid in self.pids.items()}
        return "   ".join(f"{name} {used[name] / max(requests, 1) * 1e6:5.0f} us CPU/req" for name in self.pids)


async def login(gw: str) -> tuple[str, str]:
    """(the Subsonic app-password, an API token) of the bench user."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:  # unsafe: an IP address
        r = await s.post(f"{gw}/api/login", json={"username": "bench", "password": "bench-password"})
        csrf = (await r.json())["csrf_token"]
        pw = (await (await s.get(f"{gw}/api/me/subsonic-password")).json())["password"]
        tok = await s.post(f"{gw}/api/me/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf})
        return str(pw), str((await tok.json())["token"])


async def measure(gw: str, upstream: str, nats_url: str, pids: dict[str, int]) -> None:
    pw, token = await login(gw)
    auth = {"u": "bench", "p": pw, "v": "1.16.1", "c": "bench", "f": "json"}
    await load(f"{gw}/rest/ping", auth)  # warm-up
    meter = CpuMeter(upstream=pids["upstream"])
    d_rps, d_p99, d_err = await load(f"{upstream}/rest/ping", {"f": "json"})
    d_cpu = meter.per_request(int(d_rps * SECONDS))
    meter = CpuMeter(gateway=pids["gateway"], upstream=pids["upstream"])
    g_rps, g_p99, g_err = await load(f"{gw}/rest/ping", auth)
    g_cpu = meter.per_request(int(g_rps * SECONDS))
    print(f"/rest/ping against a constant-answer upstream, {CONCURRENCY} clients, {SECONDS:.0f}s each")
    print(f"  direct:      {d_rps:8.0f} req/s   p99 {d_p99:6.1f} ms   errors {d_err}   {d_cpu}")
    print(f"  via gateway: {g_rps:8.0f} req/s   p99 {g_p99:6.1f} ms   errors {g_err}   ({g_rps / d_rps:.0%} of direct)")
    print(f"               {g_cpu}")
    d_mb = await stream_rate(f"{upstream}/rest/stream", {"id": "x"})
    g_mb = await stream_rate(f"{gw}/rest/stream", {**auth, "id": "x"})
    print("stream of a 10 MiB file (median of 5)")
    print(f"  direct:      {d_mb:8.1f} MB/s")
    print(f"  via gateway: {g_mb:8.1f} MB/s   ({g_mb / d_mb:.0%} of direct)")
    p50, p99, n = await sse_fanout(gw, token, nats_url)
    print(f"SSE fan-out: {SSE_CLIENTS} clients x {SSE_EVENTS} events = {n} deliveries")
    print(f"  publish-to-client latency p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")


# part 2: library-svc's built-in API over a real catalog, a Subsonic client's mix ------------------------------------

WORDS = ["amber", "blue", "cold", "dark", "echo", "fire", "glass", "harbour", "iron", "jade", "kite", "lunar"]
MIX = {"ping": 10, "getArtists": 5, "getAlbumList2": 25, "getAlbum": 25, "search3": 15, "getSong": 20}
"""Relative weights: a client browsing (lists, albums, songs), searching now and then, pinging to stay connected."""


def make_music(root: Path, n: int) -> None:
    """n real audio files (copies of encoded seeds, each with its own tags), 10 to an album, 5 albums an artist."""
    from tests.support.audio import EXTENSIONS, make_audio, write_tags

    seeds = {fmt: make_audio(root.parent / f"seed{EXTENSIONS[fmt]}", fmt, 1.0) for fmt in ("mp3", "flac", "ogg")}
    rng = random.Random(1)
    for i in range(n):
        fmt = ("mp3", "flac", "ogg")[i % 3]
        album_no = i // 10
        artist = f"{WORDS[album_no // 5 % len(WORDS)].title()} Artist {album_no // 5}"
        album = f"{WORDS[album_no % len(WORDS)].title()} Album {album_no}"
        title = " ".join(rng.choice(WORDS) for _ in range(3)).title()
        path = root / artist / album / f"{i % 10 + 1:02d} {title}{EXTENSIONS[fmt]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seeds[fmt], path)
        tags = {
            "title": title,
            "artist": artist,
            "albumartist": artist,
            "album": album,
            "tracknumber": str(i % 10 + 1),
            "date": str(1970 + album_no % 50),
            "genre": ("Rock", "Jazz", "Pop", "Ambient", "Folk")[album_no % 5],
        }
        write_tags(path, fmt, tags)


async def raw_get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: str, headers: str) -> bytes:
    """One keep-alive HTTP/1.1 GET: a lean client, so the load generator takes little of the shared CPUs."""
    writer.write(f"GET {target} HTTP/1.1\r\nHost: bench\r\n{headers}\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = -1
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length < 0:
        raise SystemExit(f"{target}: an answer without Content-Length: {head[:200]!r}")
    body = await reader.readexactly(length)
    if head[9:12] != b"200" or b'"status":"ok"' not in body[:200].replace(b" ", b""):
        raise SystemExit(f"{target}: {head[:12]!r} {body[:300]!r}")
    return body


_INTERNAL = f"X-Brainstream-Internal: {BENCH_LIBRARY_SECRET}\r\n"  # library-svc answers nobody without it


async def catalog_ids(port: int, user: str) -> dict[str, list[str]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    headers = f"X-Brainstream-User: {user}\r\n{_INTERNAL}"
    songs: list[str] = []
    albums: set[str] = set()
    try:
        for offset in range(0, TRACKS, 500):
            target = f"/rest/search3?f=json&query=&artistCount=0&albumCount=0&songCount=500&songOffset={offset}"
            found = json.loads(await raw_get(reader, writer, target, headers))["subsonic-response"]["searchResult3"]
            for song in found.get("song", []):
                songs.append(song["id"])
                albums.add(song["albumId"])
    finally:
        writer.close()
    return {"songs": songs, "albums": sorted(albums)}


def mix_targets(ids: dict[str, list[str]], seed: int) -> Any:
    rng = random.Random(seed)
    names, weights = list(MIX), list(MIX.values())
    kinds = ["newest", "random", "alphabeticalByName", "alphabeticalByArtist", "frequent", "recent"]

    def params(name: str) -> dict[str, Any]:
        if name == "getAlbumList2":
            return {"type": rng.choice(kinds), "size": 20, "offset": rng.randrange(0, 10) * 20}
        if name == "getAlbum":
            return {"id": rng.choice(ids["albums"])}
        if name == "getSong":
            return {"id": rng.choice(ids["songs"])}
        if name == "search3":
            return {"query": rng.choice(WORDS)[:4], "artistCount": 5, "albumCount": 10, "songCount": 20}
        return {}

    while True:
        name = rng.choices(names, weights)[0]
        yield name, params(name)


async def mix_load(port: int, ids: dict[str, list[str]], auth: Any, headers: bytes) -> dict[str, Any]:
    """CONCURRENCY keep-alive clients replaying MIX for SECONDS: req/s, p99 overall and per call.

    The clients are an asyncio Protocol with httptools' parser (the gateway's own lean client, used here only as an
    HTTP client): cheap on the shared CPUs, and not stalled by library-svc's un-Nagled two-write answers the way a
    client reading with asyncio streams is (40 ms per answer: see docs/benchmarks/gateway.md).
    """
    from gateway.subsonic.keepalive import KeepAlivePool

    pool = KeepAlivePool([], timeout_s=30, limit=CONCURRENCY)
    base_url = f"http://127.0.0.1:{port}"
    per: dict[str, list[float]] = {name: [] for name in MIX}
    stop = 0.0

    async def get(target: str) -> None:
        answer = await pool.get(base_url, target, headers)
        if answer.status != 200 or b'"status":"ok"' not in answer.body[:200].replace(b" ", b""):
            raise SystemExit(f"{target}: HTTP {answer.status} {answer.body[:300]!r}")

    async def worker(n: int) -> None:
        targets = mix_targets(ids, n)
        base = {"v": "1.16.1", "c": f"bench-{n}", "f": "json", **auth(n)}
        await get(f"/rest/ping?{urlencode(base)}")  # connected and authenticated
        await ready.wait()
        while time.monotonic() < stop:
            name, params = next(targets)
            target = f"/rest/{name}?{urlencode({**base, **params})}"
            t = time.perf_counter()
            await get(target)
            per[name].append(time.perf_counter() - t)

    ready = asyncio.Event()
    workers = [asyncio.create_task(worker(n)) for n in range(CONCURRENCY)]
    await asyncio.sleep(0.5)
    stop = time.monotonic() + SECONDS
    started = time.perf_counter()
    ready.set()
    try:
        await asyncio.gather(*workers)
    finally:
        pool.close()
    wall = time.perf_counter() - started
    every = sorted(x for xs in per.values() for x in xs)
    return {
        "n": len(every),
        "rps": len(every) / wall,
        "p99": every[int(len(every) * 0.99)] * 1000,
        "per": {k: (len(v), sorted(v)[int(len(v) * 0.99)] * 1000 if v else 0.0) for k, v in per.items()},
    }


async def measure_library(gw_port: int, lib_port: int, pids: dict[str, int]) -> None:
    pw, _ = await login(f"http://127.0.0.1:{gw_port}")
    ids = await catalog_ids(lib_port, "bench")

    def token_auth(n: int) -> dict[str, str]:  # what most clients send: md5(password + salt), a salt per client
        salt = f"salt{n:04d}"
        return {"u": "bench", "t": hashlib.md5((pw + salt).encode()).hexdigest(), "s": salt}

    await mix_load(gw_port, ids, token_auth, b"")  # warm-up: caches of both processes, connections
    print(
        f"\nlibrary-svc's OpenSubsonic API: {len(ids['songs'])} tracks, {len(ids['albums'])} albums scanned from real"
    )
    print(f"files; {CONCURRENCY} keep-alive clients; mix {MIX}")
    print(
        f"{ROUNDS} rounds of {SECONDS:.0f}s direct then {SECONDS:.0f}s through the gateway (alternating: the machine is"
    )
    print("shared, so each pair is measured under about the same load)")
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for i in range(ROUNDS):
        meter = CpuMeter(upstream=pids["library"])
        direct = await mix_load(lib_port, ids, lambda n: {}, f"X-Brainstream-User: bench\r\n{_INTERNAL}".encode())
        d_cpu = meter.per_request(direct["n"])
        meter = CpuMeter(gateway=pids["gateway"], upstream=pids["library"])
        via = await mix_load(gw_port, ids, token_auth, b"")
        g_cpu = meter.per_request(via["n"])
        rounds.append((direct, via))
        ratio = via["rps"] / direct["rps"]
        print(f"  round {i + 1} load {os.getloadavg()[0]:.2f}")
        print(f"    direct:      {direct['rps']:8.0f} req/s   p99 {direct['p99']:6.1f} ms   {d_cpu}")
        print(
            f"    via gateway: {via['rps']:8.0f} req/s   p99 {via['p99']:6.1f} ms   ({ratio:.0%} of direct)   {g_cpu}"
        )
    best = max(range(ROUNDS), key=lambda i: rounds[i][0]["rps"])
    print(f"  p99 per call in round {best + 1} (the highest direct rate):")
    print(f"    {'call':<15}{'direct':>10}{'via gateway':>14}")
    for name in MIX:
        print(f"    {name:<15}{rounds[best][0]['per'][name][1]:>8.1f}ms{rounds[best][1]['per'][name][1]:>12.1f}ms")
    ratios = sorted(via["rps"] / direct["rps"] for direct, via in rounds)
    print(f"  gateway / direct req/s, median of {ROUNDS}: {statistics.median(ratios):.0%}")


# running it all -------------------------------------------------------------------------------------------------------


def main() -> None:
    from infra.natsserver import start_nats_server

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        nats_server = start_nats_server(tmp / "nats")
        procs: list[subprocess.Popen[bytes]] = []
        try:
            provision_at(nats_server.url)
            if "1" in PARTS:
                up_port, gw_port = free_port(), free_port()
                procs.append(subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(up_port)]))
                up = f"http://127.0.0.1:{up_port}"
                env = gateway_env(tmp / "data1", nats_server.url, gw_port, up)
                procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env))
                gw = f"http://127.0.0.1:{gw_port}"
                asyncio.run(wait_http_ok([f"{gw}/api/health", f"{up}/rest/ping"]))
                asyncio.run(measure(gw, up, nats_server.url, {"upstream": procs[0].pid, "gateway": procs[1].pid}))
                stop_all(procs)
            if "2" in PARTS:
                started = time.perf_counter()
                make_music(tmp / "music", TRACKS)
                print(f"\n{TRACKS} real audio files written in {time.perf_counter() - started:.1f}s")
                lib_port, gw_port = free_port(), free_port()
                lib_env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_")} | {
                    "NATS_URL": nats_server.url,
                    "BRAINSTREAM_DATA_DIR": str(tmp / "library"),
                    "BRAINSTREAM_MUSIC_DIR": str(tmp / "music"),
                    "BRAINSTREAM_LIBRARY_HTTP_PORT": str(lib_port),
                    "BRAINSTREAM_LIBRARY_API_SECRET": BENCH_LIBRARY_SECRET,
                    "BRAINSTREAM_LOG_LEVEL": "WARNING",
                }
                started = time.perf_counter()
                procs.append(subprocess.Popen([sys.executable, "-m", "library_svc"], env=lib_env))
                asyncio.run(_wait_scanned(lib_port, TRACKS))
                print(f"library-svc up and its scan of them done in {time.perf_counter() - started:.1f}s")
                env = gateway_env(tmp / "data2", nats_server.url, gw_port, f"http://127.0.0.1:{lib_port}")
                procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env))
                asyncio.run(wait_http_ok([f"http://127.0.0.1:{gw_port}/api/health"]))
                asyncio.run(measure_library(gw_port, lib_port, {"library": procs[0].pid, "gateway": procs[1].pid}))
                stop_all(procs)
        finally:
            stop_all(procs)
            nats_server.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


async def _wait_scanned(port: int, tracks: int, timeout: float = 600) -> None:
    """library-svc answers and its catalog holds every file (it scans the folder at start)."""
    deadline = time.monotonic() + timeout
    target = f"/rest/search3?f=json&query=&artistCount=0&albumCount=0&songCount=1&songOffset={tracks - 1}"
    while True:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                body = await raw_get(reader, writer, target, f"X-Brainstream-User: bench\r\n{_INTERNAL}")
            finally:
                writer.close()
            if json.loads(body)["subsonic-response"]["searchResult3"].get("song"):
                return
        except (OSError, asyncio.IncompleteReadError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"library-svc did not list {tracks} tracks within {timeout:.0f}s")
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-upstream":
        serve_upstream(int(sys.argv[2]))
    else:
        main()
