"""Reading back what a tagged library file says, the same way for every format: the display tags, the MusicBrainz
recording id and the embedded pictures' bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import FLAC, Picture
from mutagen.mp4 import MP4

__all__ = ["FileTags", "read_file_tags"]


@dataclass(frozen=True)
class FileTags:
    title: str | None
    artist: str | None
    album: str | None
    albumartist: str | None
    recording_mbid: str | None
    pictures: list[bytes] = field(default_factory=list)


def _first(easy: Any, key: str) -> str | None:
    try:
        values = easy.get(key) if easy is not None else None
    except (KeyError, ValueError):
        return None
    return str(values[0]) if values else None


def _pictures(path: Path) -> list[bytes]:
    suffix = path.suffix.lower()
    # mutagen's classes are unannotated: held as Any, as tests/support/audio.py does
    flac: Any = FLAC
    mp4: Any = MP4
    picture: Any = Picture
    if suffix == ".flac":
        return [p.data for p in flac(path).pictures]
    if suffix == ".m4a":
        tags = mp4(path).tags
        return [bytes(c) for c in (tags.get("covr") or [])] if tags is not None else []
    raw: Any = mutagen.File(path)
    if raw is None or raw.tags is None:
        return []
    if suffix == ".mp3":
        return [frame.data for frame in raw.tags.getall("APIC")]
    blocks = raw.tags.get("metadata_block_picture") or []
    return [picture(base64.b64decode(b)).data for b in blocks]


def read_file_tags(path: Path) -> FileTags:
    """A fresh mutagen read of `path` (mutagen's "easy" keys, so ID3 UFID, Vorbis comments and MP4 freeform atoms
    all answer to `musicbrainz_trackid`)."""
    easy: Any = mutagen.File(path, easy=True)
    if easy is None:
        raise ValueError(f"{path} is not an audio file mutagen knows")
    return FileTags(
        title=_first(easy, "title"),
        artist=_first(easy, "artist"),
        album=_first(easy, "album"),
        albumartist=_first(easy, "albumartist"),
        recording_mbid=_first(easy, "musicbrainz_trackid"),
        pictures=_pictures(path),
    )
