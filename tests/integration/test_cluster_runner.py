"""`brainstream up --cluster 3`: three routed nats-server nodes, R3 streams, and a lost node that comes back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.topology import STREAMS

from ..support.natscluster import stream_healthy
from ..support.stack import alive, free_port, health, stack_env
from ..support.wait import wait_until


def _status(env: dict[str, str], cwd: Path) -> dict[str, Any] | None:
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "status", "--json"], env=env, capture_output=True, timeout=60, cwd=cwd
    )
    try:
        body: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        return None
    return body


def _all_streams_healthy(status: dict[str, Any] | None) -> bool:
    return bool(status) and all(stream_healthy(s) for s in status["streams"])  # type: ignore[index]


@pytest.fixture
def cluster_stack(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, dict[str, str]]]:
    port = free_port()
    env = stack_env(str(tmp_path / "data"), port) | {"BRAINSTREAM_LIBRARY_SCAN_ON_START": "false"}
    env.pop("BRAINSTREAM_NATS_REPLICAS", None)
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "up", "--cluster", "3"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path,
    )  # fmt: skip
    try:
        yield proc, port, env
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


async def test_up_cluster_runs_on_three_nodes_and_survives_losing_one(
    cluster_stack: tuple[subprocess.Popen[bytes], int, dict[str, str]], tmp_path: Path
) -> None:
    proc, port, env = cluster_stack
    run_state = tmp_path / "data" / "run" / "brainstream.json"
    await wait_until(lambda: health(port), timeout=90, predicate=lambda h: bool(h) and h["status"] == "ok")
    state = json.loads(run_state.read_text())
    urls = state["nats_url"].split(",")
    assert len(urls) == 3 and len(set(urls)) == 3  # the services were given all three nodes
    assert len(state["nats_pids"]) == 3 and all(alive(p) for p in state["nats_pids"])
    status = await wait_until(lambda: _status(env, tmp_path), timeout=60, interval=0.5, predicate=_all_streams_healthy)
    assert {s["name"] for s in status["streams"]} == {s.name for s in STREAMS}
    assert all(s["replicas"] == 3 for s in status["streams"])

    victim = state["nats_pids"][0]
    os.kill(victim, signal.SIGKILL)  # a node is lost: the runner starts it again on its ports and store
    await wait_until(
        lambda: json.loads(run_state.read_text())["nats_pids"],
        timeout=30,
        predicate=lambda pids: pids[0] is not None and pids[0] != victim and all(pids),
    )
    await wait_until(lambda: _status(env, tmp_path), timeout=60, interval=0.5, predicate=_all_streams_healthy)
    back = await wait_until(lambda: health(port), timeout=60, predicate=lambda h: bool(h) and h["status"] == "ok")
    assert set(back["services"]) == {"ingest-svc", "resolve-svc", "acquire-svc", "library-svc", "gateway"}

    pids = json.loads(run_state.read_text())["nats_pids"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    await wait_until(lambda: [p for p in pids if alive(p)], timeout=10, predicate=lambda left: left == [])


def test_up_on_one_server_refuses_three_replicas_and_says_what_to_do(tmp_path: Path) -> None:
    env = stack_env(str(tmp_path / "data"), free_port()) | {"BRAINSTREAM_NATS_REPLICAS": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "up"], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 2
    out = " ".join(done.stdout.split())
    assert "BRAINSTREAM_NATS_REPLICAS=3 needs a cluster of at least 3" in out and "--cluster 3" in out
