"""Moving a staging file into the library without a reader ever seeing half a file."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from ..domain.model import AudioProps
from ..ports import PathEscapes
from .tags import read_audio_props

__all__ = ["LocalFiles", "PathEscapes", "place_file", "resolve_inside", "sha256_of"]


def resolve_inside(root: Path, relpath: str) -> Path:
    """`root/relpath`, refused if the real location is not under the real root."""
    real_root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(real_root, relpath))
    if os.path.isabs(relpath) or not target.startswith(real_root + os.sep):
        raise PathEscapes(f"{relpath!r} leaves the library root")
    return Path(target)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def place_file(staging: Path, target: Path, *, force_copy: bool = False) -> str:
    """Move `staging` to `target`; return "renamed" or "copied".

    Same filesystem: one `os.replace`, atomic. Across filesystems (EXDEV): copy to a temporary name in the target's
    folder, fsync, rename over the target, then remove the staging file; a reader sees the old name or the whole
    new file, never a partial one. `force_copy` takes the second path on one filesystem too (tests, and mounts
    where rename is known not to work).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force_copy:
        try:
            os.replace(staging, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
        else:
            _fsync_dir(target.parent)
            return "renamed"
    tmp = target.parent / f".bs-{uuid.uuid4().hex}.part"
    try:
        with open(staging, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(staging, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)
    staging.unlink()
    return "copied"


class LocalFiles:
    """`LibraryFiles` on the local filesystem."""

    def inside(self, root: Path, relpath: str) -> Path:
        return resolve_inside(root, relpath)

    def sha256(self, path: Path) -> str:
        return sha256_of(path)

    def place(self, staging: Path, target: Path, *, force_copy: bool = False) -> str:
        return place_file(staging, target, force_copy=force_copy)

    def audio_props(self, path: Path) -> AudioProps:
        return read_audio_props(path)
