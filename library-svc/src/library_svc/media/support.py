"""What the media endpoints need, built once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..domain.transcoding import PlayerRule
from .diskcache import DiskCache
from .transcoder import Transcoder, find_ffmpeg

__all__ = ["Media"]


@dataclass
class Media:
    transcoder: Transcoder
    covers: DiskCache
    rules: Callable[[], list[PlayerRule]] = field(default_factory=lambda: _fixed([]))
    """The player defaults now (the live setting when set, else the environment's)."""
    default_format: str = "mp3"

    @classmethod
    def build(
        cls,
        cache_dir: Path,
        *,
        ffmpeg: str | None = None,
        transcode_cache_bytes: int = 1 << 30,
        cover_cache_bytes: int = 256 << 20,
        rules: list[PlayerRule] | Callable[[], list[PlayerRule]] | None = None,
        default_format: str = "mp3",
    ) -> Media:
        transcodes = DiskCache(cache_dir / "transcodes", transcode_cache_bytes)
        return cls(
            Transcoder(find_ffmpeg(ffmpeg), transcodes),
            DiskCache(cache_dir / "covers", cover_cache_bytes),
            rules if callable(rules) else _fixed(list(rules or [])),
            default_format,
        )


def _fixed(rules: list[PlayerRule]) -> Callable[[], list[PlayerRule]]:
    def now() -> list[PlayerRule]:
        return rules

    return now
