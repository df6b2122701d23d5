"""library-svc in the test's event loop: real NATS, real SQLite catalog, real files, its OpenSubsonic API on loopback.

For suites of other services that need the real library behind them (the gateway's library browser): a music folder
it scans at start, and `tagged_event` to hand it a real staging file as acquire-svc would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from contracts.acquire import TrackTagged
from contracts.base import Message
from contracts.common import TrackMetadata
from library_svc.app import Service, build, serve
from library_svc.settings import Settings

from .audio import EXTENSIONS, make_audio
from .stack import free_port

__all__ = ["library_env", "library_url", "running_library_svc", "tagged_event"]


def library_url(service: Service) -> str:
    return f"http://127.0.0.1:{service.settings.http_port}"


def library_env(service: Service) -> dict[str, str]:
    """A gateway's settings for this library-svc: its address and the internal secret, as `brainstream up` shares it."""
    return {
        "BRAINSTREAM_LIBRARY_API_URL": library_url(service),
        "BRAINSTREAM_LIBRARY_API_SECRET": service.settings.api_secret,
    }


@contextlib.asynccontextmanager
async def running_library_svc(nats_url: str, data_dir: Path, music_dir: Path) -> AsyncIterator[Service]:
    """Start library-svc (it scans `music_dir` first), yield it once its API answers, stop it afterwards."""
    settings = Settings(
        NATS_URL=nats_url,
        BRAINSTREAM_DATA_DIR=data_dir,
        BRAINSTREAM_MUSIC_DIR=music_dir,
        BRAINSTREAM_LIBRARY_HTTP_PORT=free_port(),
    )
    service = build(settings)
    task = asyncio.create_task(serve(service))
    try:
        for _ in range(800):  # up to 20 s on a loaded machine
            if service.http.started and service.scanner.last is not None:
                break
            if task.done():
                task.result()
            await asyncio.sleep(0.025)
        assert service.http.started and service.scanner.last is not None, "library-svc did not start and scan"
        yield service
    finally:
        service.runtime.request_stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


def tagged_event(
    staging: Path, cause: Message, meta: TrackMetadata, *, fmt: str = "mp3", freq: float = 330.0
) -> TrackTagged:
    """A real, tagged audio file in `staging` and the TrackTagged that follows `cause` in its journey."""
    path = staging / f"{meta.recording_mbid}{EXTENSIONS[fmt]}"
    make_audio(path, fmt, 1.0, freq=freq, tags={"title": meta.title, "artist": meta.artist})
    data = path.read_bytes()
    return TrackTagged.caused_by(
        cause,
        track=meta,
        staging_path=str(path),
        format=fmt,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
