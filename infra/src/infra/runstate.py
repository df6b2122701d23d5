"""Where a running `brainstream up` tells other commands (status, tail, dlq …) how to reach it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

__all__ = ["RunState", "data_dir", "resolve_nats_url"]


class RunState(BaseModel):
    nats_url: str
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
    tmp.write_text(state.model_dump_json())
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


def resolve_nats_url() -> str | None:
    """NATS_URL if set, else the URL of the embedded server of a running `brainstream up`."""
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"]
    state = read_state()
    return state.nats_url if state else None
