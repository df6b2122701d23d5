"""`brainstream up` on one machine: everything healthy and closed to other users of the host, a killed service comes
back, Ctrl-C leaves nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ..support.stack import alive as _alive
from ..support.stack import free_port as _free_port
from ..support.stack import health, stack_env
from ..support.wait import wait_until

ADMIN, ADMIN_PASSWORD = "owner", "owner-password-1"


def _health(port: int) -> dict[str, Any] | None:
    """As the stack's administrator sees it: with pids and consumers."""
    return health(port, admin=(ADMIN, ADMIN_PASSWORD))


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = _free_port()
    env = stack_env(str(tmp_path / "data"), port)
    library_port = next(p for p in iter(_free_port, None) if p != port)
    env |= {
        "BRAINSTREAM_LIBRARY_HTTP_PORT": str(library_port),
        "BRAINSTREAM_ADMIN_USER": ADMIN,
        "BRAINSTREAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    (tmp_path / "library-port").write_text(env["BRAINSTREAM_LIBRARY_HTTP_PORT"])
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "up"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    try:
        yield proc, port, tmp_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


async def test_up_serves_health_restarts_a_killed_service_or_broker_and_stops_cleanly(
    stack: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    proc, port, root = stack
    healthy = await wait_until(lambda: _health(port), timeout=60, predicate=lambda h: bool(h) and h["status"] == "ok")
    assert set(healthy["services"]) == {"ingest-svc", "resolve-svc", "acquire-svc", "library-svc", "gateway"}
    assert all(s["status"] == "ok" for s in healthy["services"].values())
    assert all(s["uptime_s"] >= 0 for s in healthy["services"].values())
    await _closed_to_others_on_the_host(root, port, int((root / "library-port").read_text()))

    victim = healthy["services"]["resolve-svc"]["pid"]
    os.kill(victim, signal.SIGKILL)
    back = await wait_until(
        lambda: _health(port),
        timeout=30,
        predicate=lambda h: (
            bool(h) and h["services"]["resolve-svc"]["status"] == "ok" and h["services"]["resolve-svc"]["pid"] != victim
        ),
    )
    assert back["status"] == "ok"
    recorded = json.loads((root / "data" / "run" / "brainstream.json").read_text())["service_pids"]
    assert recorded["resolve-svc"] == back["services"]["resolve-svc"]["pid"]  # the run state follows the restart

    state = json.loads((root / "data" / "run" / "brainstream.json").read_text())
    os.kill(state["nats_pid"], signal.SIGKILL)  # the broker itself crashes: it comes back on its port
    await wait_until(
        lambda: json.loads((root / "data" / "run" / "brainstream.json").read_text())["nats_pid"],
        timeout=30,
        predicate=lambda pid: pid != state["nats_pid"],
    )
    back = await wait_until(lambda: _health(port), timeout=30, predicate=lambda h: bool(h) and h["status"] == "ok")
    assert {s["pid"] for s in back["services"].values()} == {s["pid"] for s in healthy["services"].values()} - {
        victim
    } | {back["services"]["resolve-svc"]["pid"]}  # the services reconnected; none had to restart
    state = json.loads((root / "data" / "run" / "brainstream.json").read_text())
    pids = [s["pid"] for s in back["services"].values()] + [state["nats_pid"]]
    assert all(_alive(p) for p in pids)

    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    assert proc.wait(30) == 0
    await wait_until(lambda: [p for p in pids if _alive(p)], timeout=5, predicate=lambda left: left == [])
    assert not (root / "data" / "run" / "brainstream.json").exists()


def test_up_refuses_a_busy_port_with_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = stack_env(str(tmp_path / "data"), port)
        done = subprocess.run(
            [sys.executable, "-m", "infra.cli", "up"], env=env, capture_output=True, timeout=60, cwd=tmp_path
        )
    assert done.returncode == 2
    assert f"Port {port}" in done.stdout.decode() and "BRAINSTREAM_HTTP_PORT" in done.stdout.decode()


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def _closed_to_others_on_the_host(root: Path, port: int, library_port: int) -> None:
    """NATS and library-svc refuse a client without credentials; the secrets are in files only the owner reads;
    the account secrets are sealed in the KV and in the JetStream files; the commands sign in by themselves."""
    data = root / "data"
    run_file = data / "run" / "brainstream.json"
    state = json.loads(run_file.read_text())
    auth = json.loads((data / "nats" / "auth.json").read_text())
    assert auth["password"] not in run_file.read_text() and "@" not in state["nats_url"]
    for private in ("nats/auth.json", "nats/run/nats-server.conf", "secrets/library-api.key", "gateway/secret.key",
                    "gateway/gateway.db", "run/brainstream.json"):  # fmt: skip
        assert _mode(data / private) == 0o600, private
    assert {_mode(data / d) for d in ("nats", "secrets", "gateway")} == {0o700}

    for stranger in ({}, {"user": "brainstream", "password": "guess"}):
        with pytest.raises((nats.errors.Error, OSError)):
            await nats.connect(state["nats_url"], allow_reconnect=False, connect_timeout=3, **stranger)
    library = f"http://127.0.0.1:{library_port}/rest"
    async with httpx.AsyncClient() as http:
        for headers, query in (({}, "u=owner"), ({"X-Brainstream-User": ADMIN}, "")):
            refused = await http.get(f"{library}/getPlaylists?f=json&{query}", headers=headers)
            assert refused.status_code == 401 and "playlist" not in refused.text
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:  # the gateway signs in for us
            login = await web.post("/api/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
            csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
            token = f"lb-{uuid.uuid4().hex}"
            put = await web.put(f"/api/users/{ADMIN}/accounts", json={"listenbrainz_token": token}, headers=csrf)
            assert put.status_code == 200, put.text
            password = (await web.get("/api/me/subsonic-password")).json()["password"]
            ping = await web.get("/rest/getPlaylists", params={"u": ADMIN, "p": password, "f": "json"})
            assert ping.json()["subsonic-response"]["status"] == "ok"

    nc = await nats.connect(state["nats_url"], user=auth["user"], password=auth["password"])
    try:
        kv = await nc.jetstream().key_value("settings")
        raw = (await kv.get(f"user.{ADMIN}")).value or b""
        assert raw.startswith(b"fernet:") and token.encode() not in raw
    finally:
        await nc.close()
    store = data / "nats" / "jetstream"
    assert not [p for p in store.rglob("*") if p.is_file() and token.encode() in p.read_bytes()]

    def ingest_lines() -> list[str]:  # ingest-svc, the accounts' reader, opened it with the same key
        return [ln for ln in (root / "up.log").read_text().splitlines() if "ingest-svc" in ln and f"user.{ADMIN}" in ln]

    await wait_until(ingest_lines, timeout=30, predicate=lambda lines: any("changed" in ln for ln in lines))
    assert not [ln for ln in ingest_lines() if "cannot be opened" in ln]

    env = stack_env(str(data), port)  # an operator's shell: no credentials in it
    for args in (["status", "--json"], ["trace", str(uuid.uuid4())]):  # trace: the ops commands' connection
        argv = [sys.executable, "-m", "infra.cli", *args]
        done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, timeout=60)
        out = done.stdout.decode() + done.stderr.decode()
        assert "Authorization" not in out and "Cannot reach" not in out, (args, out)
        assert auth["password"] not in out
        if args[0] != "trace":  # an unknown id is exit code 1, after reading every stream
            assert done.returncode == 0, (args, out)
    wrong = env | {"BRAINSTREAM_NATS_USER": "brainstream", "BRAINSTREAM_NATS_PASSWORD": "guess"}
    argv = [sys.executable, "-m", "infra.cli", "status"]
    done = await asyncio.to_thread(subprocess.run, argv, env=wrong, capture_output=True, timeout=60)
    assert done.returncode == 1 and b"Authorization Violation" in done.stderr and b"Traceback" not in done.stderr
