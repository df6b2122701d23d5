"""The staging folder: one finished file per recording MBID, and locked work folders for everything in between.

Layout under the staging root (on the library's filesystem, so library-svc's move is one atomic rename):
- `<recording mbid>.<ext>`: a validated file, tagged in place stage by stage; kept across restarts (resumable);
- `.partial/<mbid>-<random>/`: one work folder per attempt (downloads, tagging copies), holding `.lock`, which its
  process keeps `flock`ed. The kernel drops the lock when the process dies, even on SIGKILL, so at boot a folder
  whose lock can be taken is orphaned and removed, while one still locked belongs to a live replica and stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Staging"]

log = logging.getLogger(__name__)


class Staging:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.partial = root / ".partial"

    def ensure(self) -> None:
        self.partial.mkdir(parents=True, exist_ok=True)

    def find(self, recording_mbid: object) -> Path | None:
        """The staged file of a track, if there is one."""
        if not self.root.is_dir():
            return None
        found = sorted(p for p in self.root.glob(f"{recording_mbid}.*") if p.is_file())
        return found[0] if found else None

    def target(self, recording_mbid: object, suffix: str) -> Path:
        return self.root / f"{recording_mbid}{suffix}"

    def accept(self, recording_mbid: object, file: Path, suffix: str) -> Path:
        """Move a validated download into place (same filesystem: atomic). Any older staged copy goes."""
        for old in self.root.glob(f"{recording_mbid}.*"):
            if old.is_file() and old.suffix != suffix:
                old.unlink()
        target = self.target(recording_mbid, suffix)
        os.replace(file, target)
        return target

    @contextlib.contextmanager
    def work(self, recording_mbid: object) -> Iterator[Path]:
        """A private, locked work folder, removed on exit."""
        self.ensure()
        folder = self.partial / f"{recording_mbid}-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        lock = os.open(folder / ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            os.close(lock)

    def remove_orphans(self) -> list[Path]:
        """Remove work folders no live process holds (and stray files in `.partial`); return what went."""
        removed: list[Path] = []
        if not self.partial.is_dir():
            return removed
        for entry in sorted(self.partial.iterdir()):
            if not entry.is_dir():
                entry.unlink(missing_ok=True)
                removed.append(entry)
                continue
            lock_path = entry / ".lock"
            try:
                fd = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                shutil.rmtree(entry, ignore_errors=True)  # died before it took its lock
                removed.append(entry)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("keeping %s: a live process holds it", entry.name)
                continue
            finally:
                os.close(fd)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        if removed:
            log.warning("removed %d orphaned partial download(s): %s", len(removed), [p.name for p in removed])
        return removed
