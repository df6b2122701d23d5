"""Walking the music folder: every audio file with its size and mtime, as the catalog's relative POSIX paths."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

from .tags import AUDIO_SUFFIXES

__all__ = ["walk_audio"]

log = logging.getLogger(__name__)


def walk_audio(root: Path) -> Iterator[tuple[str, int, int]]:
    """Yield (relative path, size, mtime_ns). Hidden entries (and our own `.bs-*.part` temp files) are skipped.

    Names that are not valid UTF-8 cannot be stored or served faithfully; they are logged and skipped.
    """
    stack = [(str(root), "")]
    while stack:
        folder, rel = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            log.warning("cannot read folder %s: %s", folder, exc)
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            relpath = f"{rel}/{name}" if rel else name
            try:
                relpath.encode("utf-8")
            except UnicodeEncodeError:
                log.warning("skipping %r: the name is not valid UTF-8", relpath)
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, relpath))
            elif entry.is_file() and os.path.splitext(name)[1].lower() in AUDIO_SUFFIXES:
                st = entry.stat()
                yield relpath, st.st_size, st.st_mtime_ns
