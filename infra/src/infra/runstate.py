"""Where a running `brainstream up` tells other commands (status, tail, dlq …) how to reach it."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from pydantic import BaseModel

from .natsauth import NatsCredentials, embedded_credentials

__all__ = ["RunState", "data_dir", "no_nats_reason", "resolve_nats", "resolve_nats_url"]


class RunState(BaseModel):
    nats_url: str
    """Never with credentials in it: those are in `nats/auth.json` (0600) or the environment."""
    http_url: str
    pid: int
    embedded_nats: bool
    nats_pid: int | None = None
    nats_pids: list[int | None] = []
    """The nodes of a local cluster (`brainstream up --cluster N`), in order; None for a node that is down."""
    service_pids: dict[str, int | None] = {}


def data_dir() -> Path:
    return Path(os.environ.get("BRAINSTREAM_DATA_DIR", "data")).resolve()


def state_file(root: Path | None = None) -> Path:
    return (root or data_dir()) / "run" / "brainstream.json"


def write_state(state: RunState, root: Path | None = None) -> None:
    path = state_file(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # pids and ports: nobody else's business
    with os.fdopen(fd, "w") as out:
        out.write(state.model_dump_json())
    tmp.replace(path)


def read_state(root: Path | None = None) -> RunState | None:
    path = state_file(root)
    try:
        state = RunState.model_validate(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return None  # a stale file from a run that is gone
    except PermissionError:
        pass
    return state


def clear_state(root: Path | None = None) -> None:
    state_file(root).unlink(missing_ok=True)


def resolve_nats() -> tuple[str, NatsCredentials] | None:
    """The NATS to talk to and how to sign in: NATS_URL with BRAINSTREAM_NATS_* (or credentials in the URL), else
    the embedded server of a running `brainstream up` with the credentials it made (`nats/auth.json`)."""
    configured = NatsCredentials.from_env()
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"], configured
    state = read_state()
    if state is None:
        return None
    if not configured and state.embedded_nats:
        with contextlib.suppress(PermissionError):  # another account's stack: its server refuses us, and we say so
            configured = embedded_credentials(data_dir() / "nats", create=False) or configured
    return state.nats_url, configured


def resolve_nats_url() -> str | None:
    """NATS_URL if set, else the URL of the embedded server of a running `brainstream up`."""
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"]
    state = read_state()
    return state.nats_url if state else None


def no_nats_reason() -> str:
    """Why no NATS was found, for a command that needs one: most often it looks in another data directory."""
    root = data_dir()
    path = state_file(root)
    given = os.environ.get("BRAINSTREAM_DATA_DIR")
    where = f"BRAINSTREAM_DATA_DIR={given}" if given else "BRAINSTREAM_DATA_DIR is unset, so ./data here"
    if path.exists():
        return (
            f"the stack recorded in {path} is not running ({where}). Start it with `brainstream up` (`make run`), "
            "or set NATS_URL."
        )
    return (
        f"no running `brainstream up` is recorded under {root} ({where}). If the stack runs, run this from the "
        "directory it was started in or set BRAINSTREAM_DATA_DIR to its data directory; otherwise start it with "
        "`brainstream up` (`make run`), or set NATS_URL."
    )
