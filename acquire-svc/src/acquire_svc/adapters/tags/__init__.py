"""Tag mapping per container family: ID3v2.4 (MP3), Vorbis comments (FLAC, Ogg Vorbis, Opus), MP4 atoms (M4A).

Each family turns a format-neutral plan (`domain.tagplan`) into its own frames and reads them back into the same
shape, so each stage can check what it wrote.
"""

from __future__ import annotations

from typing import Any, Protocol

from ...domain.tagplan import CoreTags, Enrichment

__all__ = ["Family", "family_for"]


class Family(Protocol):
    def clear(self, audio: Any) -> None: ...
    def write_core(self, audio: Any, tags: CoreTags) -> None: ...
    def read_core(self, audio: Any) -> CoreTags: ...
    def write_enrichment(self, audio: Any, enrichment: Enrichment) -> None: ...
    def read_genres(self, audio: Any) -> list[str]: ...
    def read_cover(self, audio: Any) -> bytes | None: ...
    def save(self, audio: Any) -> None: ...


def family_for(fmt: str) -> Family:
    from .id3 import Id3Family
    from .mp4 import Mp4Family
    from .vorbis import VorbisFamily

    if fmt == "mp3":
        return Id3Family()
    if fmt in ("flac", "ogg", "opus"):
        return VorbisFamily(flac=fmt == "flac")
    if fmt == "m4a":
        return Mp4Family()
    raise ValueError(f"no tagger for format {fmt!r}")
