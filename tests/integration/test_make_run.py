"""`make run` stops cleanly and leaves no process: under a process manager (SIGTERM to the `make` process alone) and
on Ctrl-C (SIGINT to the terminal's whole foreground process group)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..support.stack import alive, free_port, health, stack_env
from ..support.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _session_members(sid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == sid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    env = stack_env(str(tmp_path / "data"), port)
    for var in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):  # when the suite itself runs under make
        env.pop(var, None)
    log = (tmp_path / "make-run.log").open("wb")
    # its own session, like a service started by a process manager: only the pid it knows gets the signal
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(ROOT), "run"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield make, port
    finally:
        log.close()
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(10)


@pytest.mark.parametrize("how", ["sigterm-to-make", "ctrl-c"])
async def test_make_run_stops_the_whole_stack(
    make_run: tuple[subprocess.Popen[bytes], int], tmp_path: Path, how: str
) -> None:
    make, port = make_run
    pids: list[int] = []
    try:
        await wait_until(
            lambda: health(port), timeout=180, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
        )
        state = json.loads((tmp_path / "data" / "run" / "brainstream.json").read_text())
        pids = [state["pid"], state["nats_pid"], *state["service_pids"].values()]
        assert len(pids) == 7 and all(alive(p) for p in pids)

        if how == "ctrl-c":
            os.killpg(make.pid, signal.SIGINT)  # what a terminal does: make, uv and the runner all get it
        else:
            os.kill(make.pid, signal.SIGTERM)  # what a process manager does: only the pid it started
        make.wait(60)
        left = await wait_until(
            lambda: [p for p in pids + _session_members(make.pid) if alive(p)], timeout=30, predicate=lambda x: not x
        )
        assert left == []
        assert not (tmp_path / "data" / "run" / "brainstream.json").exists()  # the runner cleaned up after itself
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
