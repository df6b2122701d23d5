"""Run each service as its own OS process and restart a crashed one with back-off.

Children get PR_SET_PDEATHSIG, so even a SIGKILL of the runner leaves no orphan behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["SERVICE_MODULES", "ProcessSpec", "Supervisor", "set_parent_death_signal"]

log = logging.getLogger(__name__)

SERVICE_MODULES: dict[str, str] = {
    "ingest-svc": "ingest_svc",
    "resolve-svc": "resolve_svc",
    "acquire-svc": "acquire_svc",
    "library-svc": "library_svc",
    "gateway": "gateway",
}

_PR_SET_PDEATHSIG = 1


def set_parent_death_signal() -> None:
    """In the child, before exec: die with SIGTERM when the parent dies (Linux only; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ProcessSpec:
    name: str
    """Display name, e.g. `resolve-svc` or `resolve-svc#2` for a replica."""
    argv: list[str]
    env: Mapping[str, str]


@dataclass
class _Child:
    spec: ProcessSpec
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    failures_in_row: int = 0
    task: asyncio.Task[None] | None = None
    history: list[tuple[float, int]] = field(default_factory=list)


class Supervisor:
    """Keep a set of processes running until `stop()`.

    Back-off after a crash: `min_backoff_s` doubling to `max_backoff_s`; a process that stayed up for `stable_s`
    counts as healthy again and its next crash restarts it at once at the minimum delay.
    """

    def __init__(
        self,
        specs: list[ProcessSpec],
        *,
        min_backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        stable_s: float = 30.0,
        stop_timeout_s: float = 10.0,
        on_restart: Callable[[], None] | None = None,
    ) -> None:
        self._children = [_Child(spec) for spec in specs]
        self._on_restart = on_restart
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.stable_s = stable_s
        self.stop_timeout_s = stop_timeout_s
        self._stopping = False

    @property
    def pids(self) -> dict[str, int | None]:
        return {c.spec.name: (c.process.pid if c.process else None) for c in self._children}

    def restarts(self) -> dict[str, int]:
        return {c.spec.name: c.restarts for c in self._children}

    async def start(self) -> None:
        for child in self._children:
            await self._spawn(child)
            child.task = asyncio.create_task(self._watch(child), name=f"watch {child.spec.name}")

    async def _spawn(self, child: _Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            *child.spec.argv,
            env=dict(child.spec.env),
            stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=set_parent_death_signal,
            # its own session: a Ctrl-C in the terminal reaches only the runner, which stops children in order
            start_new_session=True,
        )
        child.started_at = time.monotonic()
        log.info("started %s (pid %d)", child.spec.name, child.process.pid)

    async def _watch(self, child: _Child) -> None:
        while not self._stopping:
            assert child.process is not None
            code = await child.process.wait()
            if self._stopping:
                return
            lived = time.monotonic() - child.started_at
            child.history.append((time.time(), code))
            child.failures_in_row = 1 if lived >= self.stable_s else child.failures_in_row + 1
            delay = min(self.max_backoff_s, self.min_backoff_s * 2.0 ** (child.failures_in_row - 1))
            log.warning(
                "%s exited with %s after %.1fs; restarting in %.1fs", child.spec.name, _describe(code), lived, delay
            )
            await asyncio.sleep(delay)
            if self._stopping:
                return
            await self._spawn(child)
            child.restarts += 1
            if self._on_restart is not None:
                self._on_restart()

    async def stop(self) -> None:
        """SIGTERM every child, wait, then SIGKILL whatever is left. Leaves no process behind."""
        self._stopping = True
        for child in self._children:
            if child.task:
                child.task.cancel()
        running = [c.process for c in self._children if c.process and c.process.returncode is None]
        for proc in running:
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout_s
        for proc in running:
            try:
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                log.warning("pid %d ignored SIGTERM for %.0fs; killing it", proc.pid, self.stop_timeout_s)
                _signal(proc, signal.SIGKILL)
                await proc.wait()


def _signal(proc: asyncio.subprocess.Process, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        log.debug("pid %d already gone", proc.pid)


def _describe(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def service_argv(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env
