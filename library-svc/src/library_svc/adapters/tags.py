"""Reading tags and audio properties with mutagen."""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mutagen

from ..domain.model import AudioProps, TrackInfo

__all__ = ["AUDIO_SUFFIXES", "UnreadableFile", "read_audio_props", "read_track"]

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = frozenset({".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".wav", ".wma"})
_NUMBER = re.compile(r"\d+")
_YEAR = re.compile(r"(\d{4})")


class UnreadableFile(ValueError):
    """mutagen does not recognise the file as audio."""


def _open(path: Path) -> Any:
    try:
        audio = mutagen.File(path, easy=True)
    except mutagen.MutagenError as exc:
        raise UnreadableFile(f"{path.name}: {exc}") from exc
    if audio is None:
        raise UnreadableFile(f"{path.name}: not an audio file mutagen knows")
    return audio


def _props(audio: Any) -> AudioProps:
    info = audio.info
    bitrate = int(getattr(info, "bitrate", 0) or 0)
    return AudioProps(
        duration_s=float(getattr(info, "length", 0.0) or 0.0),
        bitrate_kbps=bitrate // 1000 if bitrate > 10_000 else bitrate,
        sample_rate=int(getattr(info, "sample_rate", 0) or 0),
        channels=int(getattr(info, "channels", 0) or 0),
    )


def read_audio_props(path: Path) -> AudioProps:
    return _props(_open(path))


def _first(tags: Any, key: str) -> str | None:
    try:
        values = tags.get(key) if tags is not None else None
    except (KeyError, ValueError):
        return None
    if not values:
        return None
    text = str(values[0]).strip()
    return text or None


def _number(text: str | None) -> int | None:
    match = _NUMBER.search(text or "")
    return int(match.group()) if match else None


def read_track(root: Path, relpath: str) -> TrackInfo:
    """A file of the music folder, indexed in place: its tags, falling back to its name and folder."""
    path = root / relpath
    st = os.stat(path)
    audio = _open(path)
    tags = audio.tags
    parent = Path(relpath).parent
    title = _first(tags, "title") or Path(relpath).stem
    artist = _first(tags, "artist") or _first(tags, "albumartist") or "Unknown Artist"
    album_artist = _first(tags, "albumartist") or artist
    album = _first(tags, "album") or (parent.name if parent.name else "Unknown Album")
    year_match = _YEAR.search(_first(tags, "date") or _first(tags, "originaldate") or "")
    genres: list[str] = []
    if tags is not None:
        try:
            genres = [str(g).strip() for g in tags.get("genre") or [] if str(g).strip()]
        except (KeyError, ValueError):
            genres = []
    return TrackInfo(
        path=relpath,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        title=title,
        artist=artist,
        album=album,
        album_artist=album_artist,
        created=datetime.fromtimestamp(st.st_mtime, UTC).replace(microsecond=0),
        track_no=_number(_first(tags, "tracknumber")),
        disc_no=_number(_first(tags, "discnumber")),
        year=int(year_match.group(1)) if year_match else None,
        genres=tuple(genres),
        recording_mbid=_first(tags, "musicbrainz_trackid"),
        release_mbid=_first(tags, "musicbrainz_albumid"),
        artist_mbid=_first(tags, "musicbrainz_artistid"),
        album_artist_mbid=_first(tags, "musicbrainz_albumartistid"),
        audio=_props(audio),
    )
