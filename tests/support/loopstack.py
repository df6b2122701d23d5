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

import nats
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from .loopworld import LoopFakes, LoopWorld
from .stack import free_port, stack_env

__all__ = ["ADMIN_PASSWORD", "ADMIN_USER", "LoopStack", "loop_stack", "subject_counts"]

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

    def nats_url(self) -> str | None:
        state = self.data_dir / "run" / "brainstream.json"
        try:
            url: str = json.loads(state.read_text())["nats_url"]
        except (OSError, ValueError, KeyError):
            return None
        return url

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


async def subject_counts(js: JetStreamContext, stream: str) -> dict[str, int]:
    """Messages per subject in `stream` (empty when the stream does not exist yet)."""
    try:
        info = await js.stream_info(stream, subjects_filter=">")
    except NotFoundError:
        return {}
    return dict(info.state.subjects or {})


async def connect(stack: LoopStack) -> nats.NATS:
    url = stack.nats_url()
    if url is None:
        raise RuntimeError("the stack has not written its NATS URL yet")
    return await nats.connect(url, name="loop-tests")


@contextmanager
def loop_stack(root: Path, world: LoopWorld, *, extra_env: dict[str, str] | None = None) -> Iterator[LoopStack]:
    """Fakes up, inbox filled, `brainstream up` started; everything stopped afterwards (SIGINT, as Ctrl-C)."""
    with LoopFakes(world) as fakes:
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
            "BRAINSTREAM_RUN_INTERVAL": "86400",
            "BRAINSTREAM_LISTEN_INTERVAL": "5",
            "BRAINSTREAM_LOG_JSON": "1",
            "BRAINSTREAM_LAG_REFRESH": "2",
        }
        env |= extra_env or {}
        log_path = stack_root / "up.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", "up"],
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
