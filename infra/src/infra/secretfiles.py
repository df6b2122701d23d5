"""Files that hold secrets: created once, atomically, readable by their owner only (mode 0600).

Several processes may start at once and each want a secret made at first start (the gateway and ingest-svc both
want the key, the gateway and library-svc both want the internal API secret). The file is written under a
temporary name and linked into place, which fails if another process linked first: then that process's secret is
the one, and everyone reads it. Nobody ever reads a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["create_secret_file", "make_private", "private_dir", "read_secret_file"]


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can enter (made if missing; an existing one is tightened)."""
    path.mkdir(parents=True, exist_ok=True)
    make_private(path, 0o700)
    return path


def make_private(path: Path, mode: int = 0o600) -> None:
    """Take group and other permissions away from an existing file or folder (no-op when it is missing)."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & 0o077:
        os.chmod(path, mode)


def read_secret_file(path: Path) -> bytes | None:
    """The file's bytes without surrounding white space, or None when it does not exist. A secret file that others
    can read is tightened to 0600 on the way (an install from before this rule)."""
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    make_private(path)
    return data


def create_secret_file(path: Path, data: bytes) -> bytes:
    """Write `data` to `path` with mode 0600 unless the file exists; return what the file holds afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # a folder made here is the owner's only
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass  # made by another process first: theirs is the secret
    except OSError:  # a filesystem without hard links: a rename, still atomic, though a race may lose a writer
        if not path.exists():
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    found = read_secret_file(path)
    if found is None:
        raise FileNotFoundError(f"{path} vanished right after it was written")
    return found
