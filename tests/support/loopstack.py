"""A whole `brainstream up` pointed at a `LoopWorld`'s fakes: start it, count what the streams hold, stop it.

Shared by the end-to-end suite, the chaos suite and the whole-pipeline benchmark.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from infra.supervisor import SERVICE_MODULES

from .loopfakes import LoopFakes
from .loopworld import LB_USER, LoopWorld
from .stack import free_port, rss_kib, stack_env, stack_nats_url

__all__ = [
    "ADMIN_PASSWORD",
    "ADMIN_USER",
    "LoopStack",
    "loop_stack",
    "service_pids",
    "set_accounts",
    "stack_rss_kib",
    "subject_counts",
]

ADMIN_USER = "admin"
ADMIN_PASSWORD = "loop-admin-password-1"


@dataclass
class LoopStack:
    proc: subprocess.Popen[bytes]
    root: Path
    port: int
    library_port: int
    world: LoopWorld
    fakes: LoopFakes
    log_path: Path

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def music_dir(self) -> Path:
        return self.data_dir / "music"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def inbox_dir(self) -> Path:
        return self.root / "inbox"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def library_url(self) -> str:
        return f"http://127.0.0.1:{self.library_port}"

    def library_headers(self) -> dict[str, str]:
        """What admits a caller to library-svc's port, as the gateway sends it (the secret made at first start)."""
        return {"X-Brainstream-Internal": (self.data_dir / "secrets" / "library-api.key").read_text().strip()}

    def nats_url(self) -> str | None:
        return stack_nats_url(self.data_dir)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run `brainstream <args>` against this stack, as an operator would."""
        env = stack_env(str(self.data_dir), self.port)
        return subprocess.run(
            [sys.executable, "-m", "infra.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )


async def set_accounts(stack: LoopStack) -> None:
    """Log in to the gateway as the administrator and give them the world's ListenBrainz account, as the settings
    page does; ingest-svc picks it up live and starts a run."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
        login = await http.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        put = await http.put(f"/api/users/{ADMIN_USER}/accounts", json={"listenbrainz_user": LB_USER}, headers=csrf)
        put.raise_for_status()


async def subject_counts(js: JetStreamContext, stream: str) -> dict[str, int]:
    """Messages per subject in `stream` (empty when the stream does not exist yet)."""
    try:
        info = await js.stream_info(stream, subjects_filter=">")
    except NotFoundError:
        return {}
    return dict(info.state.subjects or {})


def service_pids(stack: LoopStack) -> dict[str, int]:
    """The live process of each service, found among the runner's children (`python -m <module>`).

    `brainstream.json` records the pids the runner started with; a restarted service has a new one."""
    by_module = {module: service for service, module in SERVICE_MODULES.items()}
    out: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        ppid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), 0)
        if ppid != stack.proc.pid or b"-m" not in argv:
            continue
        service = by_module.get(argv[argv.index(b"-m") + 1].decode())
        zombie = " Z" in next((line for line in status.splitlines() if line.startswith("State:")), "")
        if service is not None and not zombie:
            out[service] = int(entry.name)
    return out


def stack_rss_kib(stack: LoopStack) -> dict[str, int]:
    """Resident memory of every process of the stack (runner, nats-server, each service), in KiB."""
    state = json.loads((stack.data_dir / "run" / "brainstream.json").read_text())
    pids = {"runner": stack.proc.pid, "nats-server": state.get("nats_pid")} | service_pids(stack)
    out = {}
    for name, pid in pids.items():
        if pid:
            try:
                out[name] = rss_kib(int(pid))
            except FileNotFoundError:
                out[name] = 0
    return out


@contextmanager
def loop_stack(
    root: Path,
    world: LoopWorld,
    *,
    extra_env: dict[str, str] | None = None,
    env_accounts: bool = True,
    latency_s: float = 0.0,
    up_args: tuple[str, ...] = (),
) -> Iterator[LoopStack]:
    """Fakes up, inbox filled, `brainstream up` started; everything stopped afterwards (SIGINT, as Ctrl-C).

    With `env_accounts=False` the ListenBrainz account is not in the environment: nothing runs until it is set
    through the gateway (`set_accounts`), which lets a caller measure the stack idle first."""
    with LoopFakes(world, latency_s=latency_s) as fakes:
        port, library_port = free_port(), free_port()
        stack_root = root
        inbox = stack_root / "inbox"
        world.drop_inbox(inbox)
        env = stack_env(str(stack_root / "data"), port) | fakes.env()
        env |= {
            "BRAINSTREAM_ADMIN_USER": ADMIN_USER,
            "BRAINSTREAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BRAINSTREAM_LIBRARY_HTTP_PORT": str(library_port),
            "BRAINSTREAM_INBOX_DIR": str(inbox),
            "BRAINSTREAM_ACQUIRE_BACKENDS": "inbox",
            "BRAINSTREAM_RUN_SIZE": str(world.n),
            "BRAINSTREAM_CF_RATIO": str(world.cf_ratio),
            "BRAINSTREAM_PLAYLISTS_RATIO": "0",  # the world's candidates are CF and radio only
            "BRAINSTREAM_RUN_INTERVAL": "86400",
            "BRAINSTREAM_LISTEN_INTERVAL": "5",
            "BRAINSTREAM_LOG_JSON": "1",
            "BRAINSTREAM_LAG_REFRESH": "2",
        }
        if not env_accounts:
            env.pop("BRAINSTREAM_LISTENBRAINZ_USER")
        env |= extra_env or {}
        log_path = stack_root / "up.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", "up", *up_args],  # `--cluster 3`, `--replicas …`
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=stack_root,
            )
            stack = LoopStack(proc, stack_root, port, library_port, world, fakes, log_path)
            try:
                yield stack
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
                    try:
                        proc.wait(45)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(10)
