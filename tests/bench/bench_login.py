"""Logins under a burst: the gateway's memory with capped argon2 checks, and how many of a burst of wrong guesses
get checked at all.

Starts its own nats-server and a gateway (`python -m gateway`, its own process) for each setting, then sends 48
concurrent right logins (limits raised so all are checked) while sampling the gateway's RSS from /proc, with
BRAINSTREAM_PASSWORD_CHECKS=2 (the default) and =48 (no cap in effect); then 48 concurrent wrong logins and 48 wrong
/rest guesses with the default limits, counting the answers that were not "slow down".
Run with `make bench` (or `uv run python tests/bench/bench_login.py`). Env: BENCH_LOGIN_BURST (default 48).
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.stack import free_port, gateway_env, provision_at, rss_kib, stop_all, wait_http_ok

BURST = int(os.environ.get("BENCH_LOGIN_BURST", "48"))
RIGHT = {"username": "bench", "password": "bench-password"}


async def _burst(url: str, pid: int, body: dict[str, str]) -> tuple[list[int], int, float]:
    """(statuses, peak RSS in KiB while the burst ran, seconds)."""
    peak = rss_kib(pid)
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_kib(pid))
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    async with aiohttp.ClientSession() as s:

        async def one(i: int) -> int:
            sent = body if body is RIGHT else {**body, "password": f"{body['password']}-{i}"}
            async with s.post(f"{url}/api/login", json=sent) as r:
                return r.status

        statuses = await asyncio.gather(*(one(i) for i in range(BURST)))
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    return list(statuses), peak, elapsed


async def _rest_guesses(url: str) -> list[int]:
    async with aiohttp.ClientSession() as s:

        async def one(i: int) -> int:
            async with s.get(f"{url}/rest/ping", params={"u": "bench", "p": f"guess-{i}", "f": "json"}) as r:
                return r.status

        return list(await asyncio.gather(*(one(i) for i in range(BURST))))


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
            for checks in (2, BURST):
                port = free_port()
                env = gateway_env(tmp / f"data-{checks}", nats_server.url, port, "http://127.0.0.1:9") | {
                    "BRAINSTREAM_PASSWORD_CHECKS": str(checks),
                    "BRAINSTREAM_AUTH_GUESSES_PER_MINUTE": "10000",
                    "BRAINSTREAM_AUTH_ACCOUNT_GUESSES_PER_MINUTE": "10000",
                }
                procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env))
                url = f"http://127.0.0.1:{port}"
                asyncio.run(wait_http_ok([f"{url}/api/health"]))
                idle = rss_kib(procs[-1].pid)
                statuses, peak, elapsed = asyncio.run(_burst(url, procs[-1].pid, RIGHT))
                ok = statuses.count(201)
                print(
                    f"{BURST} concurrent right logins, {checks} argon2 checks at once: {ok} logged in "
                    f"in {elapsed:.2f}s, RSS {idle / 1024:.0f} MiB idle, {peak / 1024:.0f} MiB peak"
                )
                stop_all(procs)
            port = free_port()
            env = gateway_env(tmp / "data-limits", nats_server.url, port, "http://127.0.0.1:9")
            procs.append(subprocess.Popen([sys.executable, "-m", "gateway"], env=env))
            url = f"http://127.0.0.1:{port}"
            asyncio.run(wait_http_ok([f"{url}/api/health"]))
            statuses, _, elapsed = asyncio.run(_burst(url, procs[-1].pid, {"username": "bench", "password": "x"}))
            checked = [s for s in statuses if s != 429]
            print(
                f"{BURST} concurrent wrong logins (default limits): {len(checked)} checked, the rest 429 "
                f"({elapsed:.2f}s)"
            )
            rest = asyncio.run(_rest_guesses(url))
            print(f"{BURST} concurrent wrong /rest guesses after them: {len([s for s in rest if s != 429])} checked")
        finally:
            stop_all(procs)
            nats_server.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
