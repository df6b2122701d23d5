"""Real, short audio files for tests.

Files are encoded by the ffmpeg binary bundled with the ``imageio-ffmpeg`` package (a system ffmpeg is
never needed) from a lavfi ``sine`` tone. Encoded files are cached under the system temp dir, keyed by
the encoding parameters, so a test suite pays for each distinct file once; tags are written per call
with mutagen on the copy, never baked into the cache.

Public API::

    FORMATS: tuple[str, ...]                      # ("mp3", "flac", "ogg", "opus", "m4a")
    EXTENSIONS: Mapping[str, str]                 # format -> file suffix, e.g. "opus" -> ".opus"
    MUTAGEN_TYPES: Mapping[str, type[FileType]]   # format -> mutagen class that must open the file
    make_audio(path, fmt, duration_s=2.0, *, freq=440.0, bitrate_kbps=None,
               sample_rate=44100, channels=2, tags=None) -> Path
    write_tags(path, fmt, tags) -> None
    make_library(root, n, formats=FORMATS, duration_s=1.0) -> list[Path]
    truncate_file(path, keep_bytes) -> Path
    make_not_audio(path, size=4096, seed=0) -> Path
    cache_dir() -> Path
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import imageio_ffmpeg
from mutagen import FileType
from mutagen.easyid3 import EasyID3
from mutagen.easymp4 import EasyMP4
from mutagen.flac import FLAC
from mutagen.id3 import ID3NoHeaderError
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "MUTAGEN_TYPES",
    "AudioGenerationError",
    "cache_dir",
    "make_audio",
    "make_library",
    "make_not_audio",
    "truncate_file",
    "write_tags",
]

FORMATS: tuple[str, ...] = ("mp3", "flac", "ogg", "opus", "m4a")

EXTENSIONS: Mapping[str, str] = MappingProxyType(
    {"mp3": ".mp3", "flac": ".flac", "ogg": ".ogg", "opus": ".opus", "m4a": ".m4a"}
)

MUTAGEN_TYPES: Mapping[str, type[FileType]] = MappingProxyType(
    {"mp3": MP3, "flac": FLAC, "ogg": OggVorbis, "opus": OggOpus, "m4a": MP4}
)

# mutagen's "easy" tag interface per format. Typed Any on purpose: mutagen's constructors, add_tags and
# save are unannotated, which strict mypy refuses to call from typed code.
_TAGGERS: Mapping[str, Any] = MappingProxyType(
    {"mp3": EasyID3, "flac": FLAC, "ogg": OggVorbis, "opus": OggOpus, "m4a": EasyMP4}
)

# (encoder, muxer) per format. The muxer is passed explicitly so the output path's suffix never matters
# (the cache writes to ``*.part`` files). "ipod" is the MP4 flavour ffmpeg uses for .m4a.
_CODECS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "mp3": ("libmp3lame", "mp3"),
        "flac": ("flac", "flac"),
        "ogg": ("libvorbis", "ogg"),
        "opus": ("libopus", "opus"),
        "m4a": ("aac", "ipod"),
    }
)

# Bump when the ffmpeg command line changes, so stale cache entries are not reused.
_CACHE_VERSION = 1


class AudioGenerationError(RuntimeError):
    """ffmpeg failed, or produced something mutagen does not recognise as the requested format."""


def cache_dir() -> Path:
    """Directory holding the encoded files (created on demand, shared by all test processes)."""
    path = Path(tempfile.gettempdir()) / "brainstream-test-audio"
    path.mkdir(parents=True, exist_ok=True)
    return path


def make_audio(
    path: Path,
    fmt: str,
    duration_s: float = 2.0,
    *,
    freq: float = 440.0,
    bitrate_kbps: int | None = None,
    sample_rate: int = 44100,
    channels: int = 2,
    tags: Mapping[str, str] | None = None,
) -> Path:
    """Write a sine tone of ``duration_s`` seconds to ``path`` encoded as ``fmt`` and return ``path``.

    ``fmt`` is one of :data:`FORMATS`; ``opus`` is Ogg Opus and ``m4a`` is AAC in MP4. The suffix of
    ``path`` is not checked (use :data:`EXTENSIONS`). ``bitrate_kbps`` is ignored for lossless FLAC.
    Opus is always encoded at 48 kHz internally (ffmpeg resamples), whatever ``sample_rate`` says.
    ``tags`` uses mutagen's "easy" key names (title, artist, album, albumartist, tracknumber, date,
    genre, ...), see :func:`write_tags`. Parent directories are created.
    """
    if fmt not in _CODECS:
        raise ValueError(f"unknown audio format {fmt!r}; expected one of {FORMATS}")
    if duration_s <= 0:
        raise ValueError(f"duration_s must be positive, got {duration_s}")
    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, got {channels}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if fmt == "flac":
        bitrate_kbps = None  # lossless: a bitrate would only split the cache for identical files

    cached = _cached_file(fmt, duration_s, freq, bitrate_kbps, sample_rate, channels)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, path)
    if tags:
        write_tags(path, fmt, tags)
    return path


def write_tags(path: Path, fmt: str, tags: Mapping[str, str]) -> None:
    """Set ``tags`` (easy key names) on an existing file of format ``fmt``, replacing those keys.

    MP3 goes through EasyID3 and M4A through EasyMP4, which accept only their known keys (title, artist,
    album, albumartist, tracknumber, discnumber, date, genre, musicbrainz_trackid, ...) and raise
    ``KeyError`` subclasses for anything else; FLAC, Ogg Vorbis and Ogg Opus take any Vorbis comment key.
    """
    if fmt not in _TAGGERS:
        raise ValueError(f"unknown audio format {fmt!r}; expected one of {FORMATS}")
    tagger = _TAGGERS[fmt]
    if fmt == "mp3":
        try:
            id3 = tagger(path)
        except ID3NoHeaderError:
            id3 = tagger()  # the file has no ID3 header yet
        for key, value in tags.items():
            id3[key] = value
        id3.save(path)
        return
    audio = tagger(path)
    if audio.tags is None:
        audio.add_tags()
    for key, value in tags.items():
        audio[key] = value
    audio.save()


def _cached_file(
    fmt: str, duration_s: float, freq: float, bitrate_kbps: int | None, sample_rate: int, channels: int
) -> Path:
    exe = imageio_ffmpeg.get_ffmpeg_exe()
    params = {
        "v": _CACHE_VERSION,
        "ffmpeg": Path(exe).name,  # the bundled binary's name carries its version
        "fmt": fmt,
        "duration_s": duration_s,
        "freq": freq,
        "bitrate_kbps": bitrate_kbps,
        "sample_rate": sample_rate,
        "channels": channels,
    }
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:24]
    target = cache_dir() / f"{key}{EXTENSIONS[fmt]}"
    if target.exists():
        return target

    # Encode into a private temp file and publish it with an atomic rename: parallel test processes
    # (pytest-xdist) may race on the same key, and the loser simply replaces an identical file.
    fd, tmp_name = tempfile.mkstemp(prefix=f"{key}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _encode(exe, tmp, fmt, duration_s, freq, bitrate_kbps, sample_rate, channels)
        _check_type(tmp, fmt)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _encode(
    exe: str,
    out: Path,
    fmt: str,
    duration_s: float,
    freq: float,
    bitrate_kbps: int | None,
    sample_rate: int,
    channels: int,
) -> None:
    codec, muxer = _CODECS[fmt]
    cmd = [
        exe,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={freq}:sample_rate={sample_rate}:duration={duration_s}",
        "-ac",
        str(channels),
        # No inherited metadata and no encoder-version strings: tags are the caller's business, and
        # bit-exact output keeps cached files identical across runs of the same binary.
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-c:a",
        codec,
    ]
    if bitrate_kbps is not None:
        cmd += ["-b:a", f"{bitrate_kbps}k"]
    cmd += ["-f", muxer, str(out)]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    if proc.returncode != 0:
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        raise AudioGenerationError(f"ffmpeg failed (exit {proc.returncode}) encoding {fmt}: {stderr}\n$ {cmd}")


def _check_type(path: Path, fmt: str) -> None:
    expected = MUTAGEN_TYPES[fmt]
    try:
        expected(path)
    except Exception as exc:
        raise AudioGenerationError(f"ffmpeg output for {fmt} is not a valid {expected.__name__}: {exc}") from exc


# Deterministic, varied names for make_library. Non-ASCII and punctuation on purpose: library code has
# to cope with them (but no "/" — that would change the directory layout).
_ARTISTS = ("Aurora Lanes", "Björn & the Static", "Cold Harbour", "Déjà Vu Club", "Echo Park Ensemble")
_ALBUMS = ("First Light", "Night Drive", "Paper Moons", "Résumé", "Salt (Deluxe)", "Winter Tapes")
_TITLES = (
    "Opening",
    "Blue Hour",
    "Catch Your Breath",
    "Don't Look Back",
    "Élan",
    "Fever Dream",
    "Glass Houses",
    "Hold On",
    "Interlude",
    "Just Like That",
    "Kite",
    "Last Call",
)
_TRACKS_PER_ALBUM = 4
_ALBUMS_PER_ARTIST = 2


def make_library(
    root: Path,
    n: int,
    formats: Sequence[str] = FORMATS,
    duration_s: float = 1.0,
) -> list[Path]:
    """Create ``n`` tagged files under ``root`` as ``Artist/Album/NN Title.ext`` and return their paths.

    Layout is deterministic: tracks fill albums of up to 4, artists own 2 albums each, formats cycle
    through ``formats``, and every file carries title, artist, albumartist, album, tracknumber ("N/T"),
    date and genre tags. Each track gets its own tone frequency, so no two files share audio content.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not formats:
        raise ValueError("formats must not be empty")
    root = Path(root)
    paths: list[Path] = []
    for i in range(n):
        fmt = formats[i % len(formats)]
        album_no, track_index = divmod(i, _TRACKS_PER_ALBUM)
        artist_no = album_no // _ALBUMS_PER_ARTIST
        artist = _cycle_name(_ARTISTS, artist_no)
        album = _cycle_name(_ALBUMS, album_no)
        title = _cycle_name(_TITLES, i)
        track = track_index + 1
        total = min(_TRACKS_PER_ALBUM, n - album_no * _TRACKS_PER_ALBUM)
        tags = {
            "title": title,
            "artist": artist,
            "albumartist": artist,
            "album": album,
            "tracknumber": f"{track}/{total}",
            "date": str(2000 + album_no),
            "genre": "Test",
        }
        path = root / artist / album / f"{track:02d} {title}{EXTENSIONS[fmt]}"
        make_audio(path, fmt, duration_s, freq=220.0 + 5.0 * i, tags=tags)
        paths.append(path)
    return paths


def _cycle_name(names: Sequence[str], index: int) -> str:
    """``names[index]``, with a numeric suffix once the list wraps so names stay unique."""
    base = names[index % len(names)]
    lap = index // len(names)
    return base if lap == 0 else f"{base} {lap + 1}"


def truncate_file(path: Path, keep_bytes: int) -> Path:
    """Cut ``path`` down to its first ``keep_bytes`` bytes (a download that stopped early); return it."""
    if keep_bytes < 0:
        raise ValueError(f"keep_bytes must be >= 0, got {keep_bytes}")
    size = Path(path).stat().st_size
    if keep_bytes > size:
        raise ValueError(f"cannot keep {keep_bytes} bytes of a {size}-byte file")
    with open(path, "r+b") as fh:
        fh.truncate(keep_bytes)
    return Path(path)


def make_not_audio(path: Path, size: int = 4096, seed: int = 0) -> Path:
    """Write ``size`` deterministic random bytes to ``path`` (give it an audio suffix such as .mp3).

    The bytes never include 0xFF, so no MPEG frame sync can appear by chance and no audio parser
    (mutagen, ffprobe) mistakes the file for audio.
    """
    rng = random.Random(seed)
    data = bytes(rng.randrange(0, 0xFF) for _ in range(size))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
