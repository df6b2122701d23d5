"""Driving a whole `brainstream up` from tests and benchmarks: free ports, health polls, process checks."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

__all__ = [
    "BENCH_LIBRARY_SECRET",
    "STACK_ADMIN",
    "STACK_ADMIN_PASSWORD",
    "STACK_LOGIN",
    "alive",
    "free_port",
    "gateway_env",
    "health",
    "provision_at",
    "rss_kib",
    "stack_env",
    "stack_nats_url",
    "stop_all",
    "wait_http_ok",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


STACK_ADMIN, STACK_ADMIN_PASSWORD = "stack-admin", "stack-admin-password"
"""The administrator `stack_env` creates: `health(port, admin=STACK_LOGIN)` shows pids and checks."""
STACK_LOGIN = (STACK_ADMIN, STACK_ADMIN_PASSWORD)
_cookies: dict[tuple[int, str], str] = {}


def _login(base: str, user: str, password: str) -> str | None:
    request = urllib.request.Request(
        f"{base}/api/login",
        data=json.dumps({"username": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.headers.get("set-cookie", "").split(";", 1)[0] or None
    except OSError:
        return None  # not up yet


def health(port: int, admin: tuple[str, str] | None = None) -> dict[str, Any] | None:
    """The gateway's /api/health, or None while nothing answers.

    Anyone sees each service's status; with `admin` (user, password) the report has pids, checks and consumers.
    The session is made once per port and kept: a poll is not a login (and never a wrong guess)."""
    base = f"http://127.0.0.1:{port}"
    headers: dict[str, str] = {}
    if admin is not None:
        key = (port, admin[0])
        cookie = _cookies.get(key) or _login(base, *admin)
        if cookie is None:
            return None
        _cookies[key] = headers["Cookie"] = cookie
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{base}/api/health", headers=headers), timeout=2) as resp:
            body: dict[str, Any] = json.loads(resp.read())
    except OSError:
        return None
    if admin is not None and "pid" not in body["services"].get("gateway", {}):
        _cookies.pop((port, admin[0]), None)  # the session is gone (a new data dir): log in again next time
        return None
    return body


def stack_env(data_dir: str, port: int) -> dict[str, str]:
    """The environment for a private stack: its own data dir and port, never an outside NATS, an administrator."""
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env |= {
        "BRAINSTREAM_DATA_DIR": data_dir,
        "BRAINSTREAM_HTTP_PORT": str(port),
        "BRAINSTREAM_ADMIN_USER": STACK_ADMIN,
        "BRAINSTREAM_ADMIN_PASSWORD": STACK_ADMIN_PASSWORD,
    }
    return env


BENCH_LIBRARY_SECRET = "bench-library-secret"
"""The secret a lone gateway and a lone library-svc started by a bench share (library-svc refuses anyone else)."""


def stack_nats_url(data_dir: Path) -> str | None:
    """The NATS URL of the `brainstream up` using `data_dir`, signed in with the credentials it made at first start
    (its embedded server admits nobody without them); None until it has written its run file."""
    try:
        url: str = json.loads((data_dir / "run" / "brainstream.json").read_text())["nats_url"]
        auth = json.loads((data_dir / "nats" / "auth.json").read_text())
    except (OSError, ValueError, KeyError):
        return None
    return url.replace("nats://", f"nats://{auth['user']}:{auth['password']}@")  # every node of a cluster


def gateway_env(data_dir: Path, nats_url: str, port: int, upstream: str) -> dict[str, str]:
    """The environment for a lone gateway (`python -m gateway`) in front of `upstream`, signed in as bench."""
    return {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_")} | {
        "NATS_URL": nats_url,
        "BRAINSTREAM_DATA_DIR": str(data_dir),
        "BRAINSTREAM_HTTP_PORT": str(port),
        "BRAINSTREAM_ADMIN_USER": "bench",
        "BRAINSTREAM_ADMIN_PASSWORD": "bench-password",
        "BRAINSTREAM_LIBRARY_API_URL": upstream,
        "BRAINSTREAM_LIBRARY_API_SECRET": BENCH_LIBRARY_SECRET,
        "BRAINSTREAM_LOG_LEVEL": "WARNING",
    }


def provision_at(nats_url: str) -> None:
    """Streams, consumers and KV buckets of the contracts on the server at `nats_url`, from synchronous code."""
    import nats

    from infra.provision import provision

    async def go() -> None:
        nc = await nats.connect(nats_url)
        try:
            await provision(nc.jetstream())
        finally:
            await nc.close()

    asyncio.run(go())


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """Terminate each process, wait for it, and forget them."""
    for p in procs:
        p.terminate()
        p.wait(10)
    procs.clear()


def alive(pid: int) -> bool:
    """True for a running process; a zombie counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def wait_http_ok(urls: list[str], timeout: float = 60) -> None:
    """Poll each URL until it answers 200 (services started as processes); exit with the URL that never did."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as s:
        for url in urls:
            while True:
                try:
                    async with s.get(url) as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    pass  # not listening yet: poll again until the deadline
                if time.monotonic() > deadline:
                    raise SystemExit(f"{url} did not come up")
                await asyncio.sleep(0.1)
