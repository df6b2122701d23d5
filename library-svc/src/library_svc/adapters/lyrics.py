"""Unsynchronised lyrics embedded in a file (ID3 USLT, Vorbis LYRICS/UNSYNCEDLYRICS, MP4 ©lyr)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mutagen

__all__ = ["read_lyrics"]


def read_lyrics(path: Path) -> str | None:
    try:
        audio: Any = mutagen.File(path)
    except (mutagen.MutagenError, OSError):
        return None
    if audio is None or audio.tags is None:
        return None
    tags = audio.tags
    for key in list(tags.keys()):
        name = str(key)
        if name.startswith("USLT"):
            return str(tags[key].text) or None
        if name.lower() in ("lyrics", "unsyncedlyrics", "\xa9lyr"):
            value = tags[key]
            text = value[0] if isinstance(value, list) else value
            return str(text) or None
    return None
