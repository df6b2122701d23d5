"""The tags a transcode carries over: what players show, ReplayGain (clients level volume with it) and lyrics.

ffmpeg maps tags between containers by guesswork (a FLAC `LYRICS` becomes an ID3 `TXXX:USLT`, which no player
reads), so for MP3 and AAC ffmpeg writes no tags and the stream starts with an ID3v2 tag written here with mutagen,
in the frames players look for: `TXXX:REPLAYGAIN_*` (as foobar2000 and Picard write them) and `USLT` lyrics. Ogg
Opus keeps the source's Vorbis comments, which ffmpeg copies faithfully.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import mutagen
from mutagen import id3 as _id3_module

__all__ = ["REPLAYGAIN", "id3_header", "read_carried"]

log = logging.getLogger(__name__)
# mutagen's ID3 classes are unannotated, which strict typing refuses to call: reached through an untyped handle
id3: Any = _id3_module

REPLAYGAIN = ("replaygain_track_gain", "replaygain_track_peak", "replaygain_album_gain", "replaygain_album_peak")
_TEXT = ("title", "artist", "album", "albumartist", "tracknumber", "discnumber", "date", "genre")
_ID3_TEXT: dict[str, Any] = {
    "title": id3.TIT2,
    "artist": id3.TPE1,
    "album": id3.TALB,
    "albumartist": id3.TPE2,
    "tracknumber": id3.TRCK,
    "discnumber": id3.TPOS,
    "date": id3.TDRC,
    "genre": id3.TCON,
}
_MP4 = {
    "\xa9nam": "title",
    "\xa9ART": "artist",
    "\xa9alb": "album",
    "aART": "albumartist",
    "\xa9day": "date",
    "\xa9gen": "genre",
    "\xa9lyr": "lyrics",
}


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, tuple):  # MP4 track/disc numbers: (number, total)
        return str(value[0])
    return str(value)


def read_carried(path: Path) -> dict[str, str]:
    """Lower-case names (Vorbis style) → text of the tags worth carrying; {} for a file without tags."""
    try:
        audio: Any = mutagen.File(path)
    except (mutagen.MutagenError, OSError) as exc:
        log.info("no tags carried from %s: %s", path.name, exc)
        return {}
    if audio is None or audio.tags is None:
        return {}
    tags: Any = audio.tags
    out: dict[str, str] = {}
    if isinstance(tags, id3.ID3):
        for key, cls in _ID3_TEXT.items():
            frame = tags.get(cls.__name__)
            if frame is not None and frame.text:
                out[key] = str(frame.text[0])
        for frame in tags.getall("TXXX"):
            if frame.desc.lower() in REPLAYGAIN and frame.text:
                out[frame.desc.lower()] = str(frame.text[0])
        lyrics = tags.getall("USLT")
        if lyrics and lyrics[0].text:
            out["lyrics"] = str(lyrics[0].text)
        return out
    for key in list(tags.keys()):
        name = str(key)
        if name in _MP4:
            out[_MP4[name]] = _text(tags[key])
        elif name in ("trkn", "disk"):
            out["tracknumber" if name == "trkn" else "discnumber"] = _text(tags[key])
        elif name.lower().startswith("----:com.apple.itunes:"):
            short = name.split(":", 2)[2].lower()
            if short in REPLAYGAIN:
                out[short] = _text(tags[key])
        elif name.lower() in (*_TEXT, *REPLAYGAIN, "lyrics", "unsyncedlyrics"):
            out["lyrics" if name.lower() == "unsyncedlyrics" else name.lower()] = _text(tags[key])
    return out


def id3_header(carried: dict[str, str]) -> bytes:
    """An ID3v2.4 tag holding `carried`, to put in front of an MP3 or ADTS AAC stream; b"" when there is nothing."""
    if not carried:
        return b""
    tag = id3.ID3()
    for key, cls in _ID3_TEXT.items():
        if carried.get(key):
            tag.add(cls(encoding=3, text=[carried[key]]))
    for key in REPLAYGAIN:
        if carried.get(key):
            tag.add(id3.TXXX(encoding=3, desc=key.upper(), text=[carried[key]]))
    if carried.get("lyrics"):
        tag.add(id3.USLT(encoding=3, lang="xxx", desc="", text=carried["lyrics"]))
    buf = io.BytesIO()
    tag.save(buf, padding=lambda info: 0)
    return buf.getvalue()
