"""Transcodes with ffmpeg, streamed as they are made and kept in the disk cache once complete.

One ffmpeg process per stream, reading the file and writing to a pipe that is relayed chunk by chunk: the first
bytes leave within milliseconds and memory stays flat. The process lives exactly as long as its stream: when the
client hangs up, the relay is cancelled and the process is killed at once (not at the end of the song).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ..domain.transcoding import Transcode
from .carry import id3_header, read_carried
from .diskcache import DiskCache

__all__ = ["CONTENT_TYPES", "Transcoder", "find_ffmpeg"]

log = logging.getLogger(__name__)

CONTENT_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac"}
_SUFFIX = {"mp3": ".mp3", "opus": ".opus", "aac": ".aac"}
# (encoder, muxer, extra muxer options); MP3 and ADTS get their tags from `carry.id3_header`, not from ffmpeg
_ENCODE = {
    "mp3": ("libmp3lame", "mp3", ["-map_metadata", "-1", "-id3v2_version", "0", "-write_id3v1", "0"]),
    "opus": ("libopus", "ogg", ["-map_metadata", "0"]),
    "aac": ("aac", "adts", ["-map_metadata", "-1"]),
}
_CHUNK = 64 * 1024


def find_ffmpeg(configured: str | None) -> str | None:
    """The setting, else `ffmpeg` on PATH, else the binary the imageio-ffmpeg package ships, else None."""
    if configured:
        return configured
    if found := shutil.which("ffmpeg"):
        return found
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return None


@dataclass(frozen=True)
class Ended:
    pid: int
    outcome: str  # "complete", "killed" (the client left) or "failed"


class Transcoder:
    def __init__(self, ffmpeg: str | None, cache: DiskCache) -> None:
        self.ffmpeg = ffmpeg
        self.cache = cache
        self.running: dict[int, str] = {}
        """pid → source file name of every ffmpeg alive now."""
        self.ended: deque[Ended] = deque(maxlen=256)
        """How recent transcodes ended, newest last."""

    def cache_name(self, track_id: str, mtime_ns: int, size: int, plan: Transcode) -> str:
        return self.cache.key(
            track_id, mtime_ns, size, plan.format, plan.kbps, plan.offset_s, suffix=_SUFFIX[plan.format]
        )

    def args(self, source: Path, plan: Transcode) -> list[str]:
        codec, muxer, extra = _ENCODE[plan.format]
        seek = ["-ss", str(plan.offset_s)] if plan.offset_s > 0 else []
        return [
            *["-nostdin", "-hide_banner", "-loglevel", "error", *seek, "-i", str(source)],
            *["-map", "0:a:0", "-vn", *extra, "-c:a", codec, "-b:a", f"{plan.kbps}k", "-f", muxer, "pipe:1"],
        ]

    async def header(self, source: Path, plan: Transcode) -> bytes:
        """What the stream starts with before ffmpeg's bytes: the ID3 tag for MP3 and AAC, nothing for Opus."""
        if plan.format not in ("mp3", "aac"):
            return b""
        return id3_header(await asyncio.to_thread(read_carried, source))

    async def stream(
        self, source: Path, plan: Transcode, cache_name: str | None, header: bytes | None = None
    ) -> AsyncIterator[bytes]:
        """The transcoded bytes. Closing the iterator early (or cancelling it) kills ffmpeg and keeps nothing."""
        if self.ffmpeg is None:
            raise RuntimeError("no ffmpeg: set BRAINSTREAM_FFMPEG or install imageio-ffmpeg")
        if header is None:
            header = await self.header(source, plan)
        proc = await asyncio.create_subprocess_exec(
            self.ffmpeg,
            *self.args(source, plan),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        self.running[proc.pid] = source.name
        # drained as it comes: a file that makes ffmpeg complain a lot must not fill the pipe and stall the audio
        errors = asyncio.create_task(_tail(proc.stderr))
        part = self.cache.part(cache_name) if cache_name and self.cache.enabled else None
        sink = open(part, "wb") if part else None  # noqa: SIM115, ASYNC230 — a local file, closed in `finally`
        outcome = "killed"
        try:
            if header:
                if sink:
                    sink.write(header)
                yield header
            while chunk := await proc.stdout.read(_CHUNK):
                if sink:
                    sink.write(chunk)  # page-cache write of 64 KiB: cheaper inline than a thread hop
                yield chunk
            code = await proc.wait()
            outcome = "complete" if code == 0 else "failed"
            if code != 0:
                log.error("ffmpeg failed on %s (%s): %s", source.name, code, await errors)
        finally:
            if proc.returncode is None:
                proc.kill()
                with contextlib.suppress(ProcessLookupError):
                    await asyncio.shield(proc.wait())
            errors.cancel()
            self.running.pop(proc.pid, None)
            self.ended.append(Ended(proc.pid, outcome))
            if sink:
                sink.close()
            if part is not None and cache_name is not None:
                if outcome == "complete":
                    await asyncio.to_thread(self.cache.commit, part, cache_name)
                else:
                    part.unlink(missing_ok=True)


async def _tail(stream: asyncio.StreamReader, keep: int = 2000) -> str:
    """Everything `stream` says until it ends, keeping the last `keep` characters."""
    kept = b""
    while chunk := await stream.read(4096):
        kept = (kept + chunk)[-keep:]
    return kept.decode("utf-8", "replace").strip()
