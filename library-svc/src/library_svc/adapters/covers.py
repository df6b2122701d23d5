"""Cover images: a picture file beside the track, else the picture embedded in the file.

Found as stored; `getCoverArt&size=N` resizes them (media/covers.py) and keeps the result in the cover cache.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import Picture

__all__ = ["find_cover"]

_NAMES = ("cover", "folder", "front", "album")
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def find_cover(track_file: Path) -> tuple[bytes, str] | None:
    folder = track_file.parent
    try:
        entries = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    except OSError:
        entries = {}
    for name in _NAMES:
        for ext, mime in _MIME.items():
            found = entries.get(name + ext)
            if found is not None:
                return found.read_bytes(), mime
    return _embedded(track_file)


def _embedded(track_file: Path) -> tuple[bytes, str] | None:
    try:
        audio: Any = mutagen.File(track_file)
    except mutagen.MutagenError:
        return None
    if audio is None or audio.tags is None:
        return None
    pictures = getattr(audio, "pictures", None)
    if pictures:
        return pictures[0].data, pictures[0].mime or _sniff(pictures[0].data)
    tags = audio.tags
    for key in list(tags.keys()):
        if str(key).startswith("APIC"):
            frame = tags[key]
            return frame.data, frame.mime or _sniff(frame.data)
    if tags.get("covr"):
        data = bytes(tags["covr"][0])
        return data, _sniff(data)
    for block in tags.get("metadata_block_picture", []) if hasattr(tags, "get") else []:
        try:
            pic = Picture(base64.b64decode(block))  # type: ignore[no-untyped-call]
        except (ValueError, mutagen.MutagenError):
            continue
        return pic.data, pic.mime or _sniff(pic.data)
    return None
