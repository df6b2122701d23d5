"""Cold start of `brainstream up` and the idle memory of the whole stack.

Prints: time from launch to every service `ok` on /api/health (several runs, fresh data dir each), time for a
SIGKILLed service to be healthy again, and the RSS of every process of the stack once idle.
Run with `make bench` (or `uv run python tests/bench/bench_startup.py`).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.stack import STACK_LOGIN, free_port, health, rss_kib, stack_env

RUNS = int(os.environ.get("BENCH_STARTUP_RUNS", "3"))


def wait_ok(port: int, timeout: float = 60.0, not_pid: tuple[str, int] | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = health(port, admin=STACK_LOGIN)
        if h and h["status"] == "ok" and (not_pid is None or h["services"][not_pid[0]]["pid"] != not_pid[1]):
            return h
        time.sleep(0.02)
    raise SystemExit(f"stack not healthy within {timeout}s")


def main() -> None:
    starts: list[float] = []
    restarts: list[float] = []
    memory: dict[str, int] = {}
    for run in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            env = stack_env(f"{tmp}/data", port)
            t0 = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", "up"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=tmp,
            )
            try:
                h = wait_ok(port)
                starts.append(time.monotonic() - t0)
                victim = h["services"]["acquire-svc"]["pid"]
                t1 = time.monotonic()
                os.kill(victim, signal.SIGKILL)
                wait_ok(port, not_pid=("acquire-svc", victim))
                restarts.append(time.monotonic() - t1)
                if run == RUNS - 1:
                    time.sleep(5)  # let every process settle into idle
                    h = wait_ok(port)
                    state = json.loads(Path(f"{tmp}/data/run/brainstream.json").read_text())
                    memory = {name: rss_kib(s["pid"]) for name, s in h["services"].items()}
                    memory["nats-server"] = rss_kib(state["nats_pid"])
                    memory["brainstream up (runner)"] = rss_kib(proc.pid)
            finally:
                proc.send_signal(signal.SIGINT)
                proc.wait(30)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    median, worst = statistics.median(starts), max(starts)
    print(f"cold start to all services ok: median {median:.2f}s, max {worst:.2f}s ({RUNS} runs)")
    print(f"SIGKILLed service healthy again: median {statistics.median(restarts):.2f}s, max {max(restarts):.2f}s")
    print("idle RSS:")
    for name, kib in memory.items():
        print(f"  {name:<26} {kib / 1024:7.1f} MiB")
    print(f"  {'total':<26} {sum(memory.values()) / 1024:7.1f} MiB")


if __name__ == "__main__":
    main()
