"""Tests for tests.support.audio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mutagen
import pytest
from mutagen.easyid3 import EasyID3
from mutagen.easymp4 import EasyMP4
from mutagen.mp3 import MP3

from tests.support.audio import (
    EXTENSIONS,
    FORMATS,
    MUTAGEN_TYPES,
    cache_dir,
    make_audio,
    make_library,
    make_not_audio,
    truncate_file,
    write_tags,
)

# mp3 and AAC carry encoder delay/padding; mutagen's Ogg Opus length already accounts for pre-skip.
DURATION_TOLERANCE_S = 0.15


# mutagen's constructors are unannotated; tests handle its objects as Any to stay strict-mypy clean.
_EasyID3: Any = EasyID3
_EasyMP4: Any = EasyMP4
_MP3: Any = MP3


def _open(path: Path) -> Any:
    return mutagen.File(path)


def _easy(path: Path, fmt: str) -> Any:
    if fmt == "mp3":
        return _EasyID3(path)
    if fmt == "m4a":
        return _EasyMP4(path)
    return MUTAGEN_TYPES[fmt](path)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("duration_s", [0.5, 2.0])
def test_each_format_opens_with_the_right_type_and_length(tmp_path: Path, fmt: str, duration_s: float) -> None:
    path = make_audio(tmp_path / f"tone{EXTENSIONS[fmt]}", fmt, duration_s)
    audio = _open(path)
    info = audio.info
    assert type(audio) is MUTAGEN_TYPES[fmt]
    assert abs(info.length - duration_s) <= DURATION_TOLERANCE_S
    assert info.channels == 2


def test_mono_low_rate_and_bitrate_are_honoured(tmp_path: Path) -> None:
    mp3 = _open(make_audio(tmp_path / "a.mp3", "mp3", 1.0, bitrate_kbps=64, sample_rate=22050, channels=1))
    assert (mp3.info.channels, mp3.info.sample_rate) == (1, 22050)
    assert abs(mp3.info.bitrate - 64_000) <= 1_000
    ogg = _open(make_audio(tmp_path / "a.ogg", "ogg", 1.0, sample_rate=48000, channels=1))
    assert (ogg.info.channels, ogg.info.sample_rate) == (1, 48000)


@pytest.mark.parametrize("fmt", FORMATS)
def test_tags_round_trip(tmp_path: Path, fmt: str) -> None:
    tags = {
        "title": "Déjà Vu",
        "artist": "Björn & the Static",
        "albumartist": "Various Artists",
        "album": "Night Drive",
        "tracknumber": "3/12",
        "date": "2004",
        "genre": "Ambient",
    }
    path = make_audio(tmp_path / f"t{EXTENSIONS[fmt]}", fmt, 0.5, tags=tags)
    assert type(_open(path)) is MUTAGEN_TYPES[fmt]
    easy = _easy(path, fmt)
    assert {key: easy[key] for key in tags} == {key: [value] for key, value in tags.items()}


def test_untagged_copy_carries_no_user_tags(tmp_path: Path) -> None:
    make_audio(tmp_path / "tagged.flac", "flac", 0.5, tags={"title": "x"})
    plain = _open(make_audio(tmp_path / "plain.flac", "flac", 0.5))
    assert "title" not in (plain.tags or {})


def test_mp3_without_id3_header_gets_one(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "a.mp3", "mp3", 0.5)
    _open(path).delete()  # strip every ID3 tag

    write_tags(path, "mp3", {"artist": "Cold Harbour"})
    assert _EasyID3(path)["artist"] == ["Cold Harbour"]


def test_cache_is_reused_and_copies_are_identical(tmp_path: Path) -> None:
    # A frequency no other test uses, so the first call really encodes.
    first = make_audio(tmp_path / "one.ogg", "ogg", 0.7, freq=1234.5)
    cached = [p for p in cache_dir().glob("*.ogg") if p.read_bytes() == first.read_bytes()]
    assert cached, "the encoded file should be kept in the cache"
    mtime = cached[0].stat().st_mtime_ns
    second = make_audio(tmp_path / "sub" / "two.ogg", "ogg", 0.7, freq=1234.5)
    assert second.read_bytes() == first.read_bytes()
    assert cached[0].stat().st_mtime_ns == mtime, "a cache hit must not re-encode"


def test_different_parameters_give_different_files(tmp_path: Path) -> None:
    a = make_audio(tmp_path / "a.flac", "flac", 0.5, freq=300.0)
    b = make_audio(tmp_path / "b.flac", "flac", 0.5, freq=301.0)
    assert a.read_bytes() != b.read_bytes()


def test_tags_do_not_leak_into_the_cache(tmp_path: Path) -> None:
    make_audio(tmp_path / "a.m4a", "m4a", 0.5, tags={"title": "only here"})
    again = _EasyMP4(make_audio(tmp_path / "b.m4a", "m4a", 0.5))
    assert "title" not in (again.tags or {})


def test_invalid_arguments_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown audio format"):
        make_audio(tmp_path / "a.wav", "wav")
    with pytest.raises(ValueError, match="duration_s"):
        make_audio(tmp_path / "a.mp3", "mp3", 0)
    with pytest.raises(ValueError, match="channels"):
        make_audio(tmp_path / "a.mp3", "mp3", 1.0, channels=6)


def test_make_library_layout_and_tags(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 11)
    assert len(paths) == 11
    assert len(set(paths)) == 11
    rel = [p.relative_to(tmp_path) for p in paths]
    assert all(len(r.parts) == 3 for r in rel)
    assert rel[0] == Path("Aurora Lanes/First Light/01 Opening.mp3")
    assert rel[4] == Path("Aurora Lanes/Night Drive/01 Élan.m4a")
    assert rel[8] == Path("Björn & the Static/Paper Moons/01 Interlude.opus")
    assert [p.suffix for p in paths[:5]] == [EXTENSIONS[f] for f in FORMATS]
    assert {r.parts[0] for r in rel} == {"Aurora Lanes", "Björn & the Static"}

    for path, r in zip(paths, rel, strict=True):
        fmt = next(f for f, ext in EXTENSIONS.items() if ext == path.suffix)
        audio = _open(path)
        length = audio.info.length
        assert type(audio) is MUTAGEN_TYPES[fmt]
        assert abs(length - 1.0) <= DURATION_TOLERANCE_S
        easy = _easy(path, fmt)
        assert easy["artist"] == [r.parts[0]]
        assert easy["album"] == [r.parts[1]]
        number, title = r.stem.split(" ", 1)
        assert easy["title"] == [title]
        assert easy["tracknumber"][0].split("/")[0] == str(int(number))
    # The last album holds 3 tracks (8, 9, 10), and says so.
    assert _easy(paths[10], "mp3")["tracknumber"] == ["3/3"]
    # No two files share their audio content.
    assert len({p.read_bytes() for p in paths}) == 11


def test_make_library_is_deterministic(tmp_path: Path) -> None:
    one = make_library(tmp_path / "a", 6, formats=("flac",), duration_s=0.3)
    two = make_library(tmp_path / "b", 6, formats=("flac",), duration_s=0.3)
    assert [p.relative_to(tmp_path / "a") for p in one] == [p.relative_to(tmp_path / "b") for p in two]
    assert all(p.suffix == ".flac" for p in one)


def test_make_library_wraps_names_without_collisions(tmp_path: Path) -> None:
    paths = make_library(tmp_path, 45, formats=("flac",), duration_s=0.2)
    assert len({p.parent.parent.name for p in paths}) == 6  # 12 albums, 2 per artist
    assert len(set(paths)) == 45


def test_truncate_file(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "a.flac", "flac", 1.0)
    size = path.stat().st_size
    assert truncate_file(path, size // 2) == path
    assert path.stat().st_size == size // 2
    with pytest.raises(ValueError):
        truncate_file(path, size)


def test_truncated_file_fails_to_open(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "a.flac", "flac", 1.0)
    truncate_file(path, 20)
    with pytest.raises(mutagen.MutagenError):
        _open(path)


def test_make_not_audio(tmp_path: Path) -> None:
    path = make_not_audio(tmp_path / "x" / "fake.mp3")
    assert path.stat().st_size == 4096
    assert b"\xff" not in path.read_bytes()
    assert make_not_audio(tmp_path / "again.mp3").read_bytes() == path.read_bytes()
    with pytest.raises(mutagen.MutagenError):
        _MP3(path)
    with pytest.raises(mutagen.MutagenError):
        _open(path)
