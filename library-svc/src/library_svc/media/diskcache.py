"""Finished transcodes and resized covers on disk, under a size cap, least recently used out first.

An entry is written to a `.part` file and renamed into place once complete, so a reader never serves half of one
and a crash leaves only `.part` files, removed at start. A hit touches the file's modification time; eviction
removes the oldest until the folder is under its cap. The sizes are kept in memory (read once at start), so a hit
or a store costs no directory walk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from pathlib import Path

__all__ = ["DiskCache"]

log = logging.getLogger(__name__)


class DiskCache:
    def __init__(self, folder: Path, cap_bytes: int) -> None:
        self.folder = folder
        self.cap_bytes = cap_bytes
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._sizes: dict[str, tuple[int, float]] = {}  # name → (size, last use)
        folder.mkdir(parents=True, exist_ok=True)
        for entry in folder.iterdir():
            if entry.name.endswith(".part"):
                entry.unlink(missing_ok=True)  # a transcode cut short by a crash
            elif entry.is_file():
                st = entry.stat()
                self._sizes[entry.name] = (st.st_size, st.st_mtime)

    @property
    def enabled(self) -> bool:
        return self.cap_bytes > 0

    @property
    def size(self) -> int:
        with self._lock:
            return sum(s for s, _ in self._sizes.values())

    @staticmethod
    def key(*parts: object, suffix: str) -> str:
        return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:40] + suffix

    def get(self, name: str) -> Path | None:
        """The entry's path, marked as just used; None on a miss."""
        path = self.folder / name
        with self._lock:
            known = name in self._sizes
        if not known or not path.is_file():
            if known:  # removed behind our back (a cleanup, a full disk): forget it so the size stays true
                with self._lock:
                    self._sizes.pop(name, None)
            self.misses += 1
            return None
        now = time.time()
        try:
            os.utime(path, (now, now))
        except OSError:
            self.misses += 1
            return None
        with self._lock:
            self._sizes[name] = (self._sizes.get(name, (0, now))[0], now)
        self.hits += 1
        return path

    def part(self, name: str) -> Path:
        """Where to write an entry being made (unique per writer: two transcodes of one key may run at once)."""
        return self.folder / f"{name}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}.part"

    def commit(self, part: Path, name: str) -> Path:
        """Move a finished `.part` into place and evict down to the cap."""
        final = self.folder / name
        size = part.stat().st_size
        os.replace(part, final)
        with self._lock:
            self._sizes[name] = (size, time.time())
        self._evict()
        return final

    def put(self, name: str, data: bytes) -> Path:
        part = self.part(name)
        part.write_bytes(data)
        return self.commit(part, name)

    def _evict(self) -> None:
        with self._lock:
            total = sum(s for s, _ in self._sizes.values())
            if total <= self.cap_bytes:
                return
            victims = []
            for name, (size, _) in sorted(self._sizes.items(), key=lambda kv: kv[1][1]):
                if total <= self.cap_bytes:
                    break
                victims.append(name)
                total -= size
            for name in victims:
                del self._sizes[name]
        for name in victims:
            (self.folder / name).unlink(missing_ok=True)
        log.debug("cache %s: evicted %d entries", self.folder.name, len(victims))
