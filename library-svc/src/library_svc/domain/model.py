"""What the library knows about one file, whichever way it arrived (pipeline import or folder scan)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["CONTENT_TYPES", "AudioProps", "ScanReport", "TrackInfo"]

CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "opus": "audio/ogg",
    "m4a": "audio/mp4",
    "mp4": "audio/mp4",
    "aac": "audio/aac",
    "wav": "audio/wav",
    "wma": "audio/x-ms-wma",
}


@dataclass(frozen=True)
class AudioProps:
    duration_s: float = 0.0
    bitrate_kbps: int = 0
    sample_rate: int = 0
    channels: int = 0


@dataclass(frozen=True)
class TrackInfo:
    """Display values and file facts of one track; `path` is relative to the library root, POSIX style."""

    path: str
    size: int
    mtime_ns: int
    title: str
    artist: str
    album: str
    album_artist: str
    created: datetime
    track_no: int | None = None
    disc_no: int | None = None
    year: int | None = None
    genres: tuple[str, ...] = ()
    recording_mbid: str | None = None
    release_mbid: str | None = None
    artist_mbid: str | None = None
    album_artist_mbid: str | None = None
    audio: AudioProps = field(default_factory=AudioProps)

    @property
    def suffix(self) -> str:
        return self.path.rpartition(".")[2].lower() if "." in self.path else ""

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES.get(self.suffix, "application/octet-stream")


@dataclass
class ScanReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0
    duration_ms: int = 0
    errors: list[str] = field(default_factory=list)
