"""Open a file with mutagen and report what validation needs: container format, codec, length, bitrate, title."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from ..domain.validation import AudioFacts
from ..ports import EXTENSION, Probed

__all__ = ["EXTENSION", "Probed", "probe"]

log = logging.getLogger(__name__)


def _kind(audio: Any) -> tuple[str | None, str]:
    if isinstance(audio, MP3):
        return "mp3", "mp3"
    if isinstance(audio, FLAC):
        return "flac", "flac"
    if isinstance(audio, OggOpus):
        return "opus", "opus"
    if isinstance(audio, OggVorbis):
        return "ogg", "vorbis"
    if isinstance(audio, MP4):
        codec = str(getattr(audio.info, "codec", "") or "")
        return "m4a", "alac" if codec == "alac" else "aac" if codec.startswith("mp4a") else codec or "mp4"
    return None, type(audio).__name__.lower()


def probe(path: Path) -> Probed | None:
    """None when no parser recognises the file (not audio, or cut off before its headers)."""
    try:
        audio: Any = mutagen.File(path)
    except (mutagen.MutagenError, OSError, ValueError, EOFError, IndexError) as exc:
        log.info("%s is not readable audio: %s", path.name, exc)
        return None
    if audio is None or audio.info is None:
        return None
    fmt, codec = _kind(audio)
    bitrate = getattr(audio.info, "bitrate", None)
    title: str | None = None
    try:
        easy: Any = mutagen.File(path, easy=True)
        if easy is not None and easy.tags is not None and easy.get("title"):
            title = str(easy["title"][0])
    except (mutagen.MutagenError, OSError, ValueError, KeyError) as exc:
        log.debug("%s: tags unreadable (%s); judging by the candidate's name", path.name, exc)
    facts = AudioFacts(
        codec=codec,
        duration_s=float(audio.info.length or 0.0),
        bitrate_kbps=round(bitrate / 1000) if bitrate else None,
        title_tag=title,
    )
    return Probed(facts, fmt)
