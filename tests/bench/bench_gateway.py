"""Gateway speed: /rest direct vs through the gateway, a 10 MB stream, and SSE fan-out to 100 clients.

Starts its own nats-server, a fast loopback OpenSubsonic upstream (aiohttp, its own process) and the gateway
(`python -m gateway`, its own process), then measures from this process with aiohttp clients.
Run with `make bench` (or `uv run python tests/bench/bench_gateway.py`). Env: BENCH_GATEWAY_SECONDS (default 5).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.stack import free_port

SECONDS = float(os.environ.get("BENCH_GATEWAY_SECONDS", "5"))
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


async def measure(gw: str, upstream: str, nats_url: str) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:  # unsafe: an IP address
        r = await s.post(f"{gw}/api/login", json={"username": "bench", "password": "bench-password"})
        csrf = (await r.json())["csrf_token"]
        pw = (await (await s.get(f"{gw}/api/me/subsonic-password")).json())["password"]
        tok = await s.post(f"{gw}/api/me/tokens", json={"name": "bench"}, headers={"X-CSRF-Token": csrf})
        token = (await tok.json())["token"]
    auth = {"u": "bench", "p": pw, "v": "1.16.1", "c": "bench", "f": "json"}
    await load(f"{gw}/rest/ping", auth)  # warm-up
    d_rps, d_p99, d_err = await load(f"{upstream}/rest/ping", {"f": "json"})
    g_rps, g_p99, g_err = await load(f"{gw}/rest/ping", auth)
    print(f"/rest/ping, {CONCURRENCY} clients, {SECONDS:.0f}s each")
    print(f"  direct:      {d_rps:8.0f} req/s   p99 {d_p99:6.1f} ms   errors {d_err}")
    print(f"  via gateway: {g_rps:8.0f} req/s   p99 {g_p99:6.1f} ms   errors {g_err}   ({g_rps / d_rps:.0%} of direct)")
    d_mb = await stream_rate(f"{upstream}/rest/stream", {"id": "x"})
    g_mb = await stream_rate(f"{gw}/rest/stream", {**auth, "id": "x"})
    print("stream of a 10 MiB file (median of 5)")
    print(f"  direct:      {d_mb:8.1f} MB/s")
    print(f"  via gateway: {g_mb:8.1f} MB/s   ({g_mb / d_mb:.0%} of direct)")
    p50, p99, n = await sse_fanout(gw, token, nats_url)
    print(f"SSE fan-out: {SSE_CLIENTS} clients x {SSE_EVENTS} events = {n} deliveries")
    print(f"  publish-to-client latency p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")


def main() -> None:
    from infra.natsserver import start_nats_server
    from infra.provision import provision

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        nats_server = start_nats_server(Path(tmp) / "nats")
        procs: list[subprocess.Popen[bytes]] = []
        try:

            async def prov() -> None:
                import nats

                nc = await nats.connect(nats_server.url)
                await provision(nc.jetstream())
                await nc.close()

            asyncio.run(prov())
            up_port, gw_port = free_port(), free_port()
            procs.append(subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(up_port)]))
            env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_")} | {
                "NATS_URL": nats_server.url,
                "BRAINSTREAM_DATA_DIR": str(Path(tmp) / "data"),
                "BRAINSTREAM_HTTP_PORT": str(gw_port),
                "BRAINSTREAM_ADMIN_USER": "bench",
                "BRAINSTREAM_ADMIN_PASSWORD": "bench-password",
                "BRAINSTREAM_LIBRARY_API_URL": f"http://127.0.0.1:{up_port}",
                "BRAINSTREAM_LOG_LEVEL": "WARNING",
            }
            procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env))
            gw, up = f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{up_port}"
            asyncio.run(_wait_up([f"{gw}/api/health", f"{up}/rest/ping"]))
            asyncio.run(measure(gw, up, nats_server.url))
        finally:
            for p in procs:
                p.terminate()
                p.wait(10)
            nats_server.stop()


async def _wait_up(urls: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        for url in urls:
            while True:
                try:
                    async with s.get(url) as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} did not come up")
                await asyncio.sleep(0.1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-upstream":
        serve_upstream(int(sys.argv[2]))
    else:
        main()
