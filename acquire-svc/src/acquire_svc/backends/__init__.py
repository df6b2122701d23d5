"""Download backends: each finds candidates for a wanted track and fetches one into a work folder."""

from __future__ import annotations

from pathlib import Path

from ..ports import Progress

__all__ = ["AUDIO_SUFFIXES", "copy_file"]

AUDIO_SUFFIXES = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".webm"})
_CHUNK = 64 * 1024


async def copy_file(src: Path, dest: Path, progress: Progress, *, max_bytes: int | None = None) -> Path:
    """Chunked copy that reports progress after each chunk (a heartbeat for long copies, and the test pause)."""
    done = 0
    with src.open("rb") as fin, dest.open("wb") as fout:
        while chunk := fin.read(_CHUNK):
            fout.write(chunk)
            fout.flush()
            done += len(chunk)
            if max_bytes is not None and done > max_bytes:
                raise ValueError(f"{src.name} is larger than {max_bytes} bytes")
            await progress(done)
    return dest
