"""`brainstream up` on one machine: everything healthy, a killed service comes back, Ctrl-C leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..support.stack import STACK_LOGIN, health, stack_env
from ..support.stack import alive as _alive
from ..support.stack import free_port as _free_port
from ..support.wait import wait_until


def _health(port: int) -> dict[str, Any] | None:
    """As the stack's administrator sees it: with pids and consumers."""
    return health(port, admin=STACK_LOGIN)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = _free_port()
    env = stack_env(str(tmp_path / "data"), port)
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
