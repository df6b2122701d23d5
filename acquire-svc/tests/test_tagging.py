"""Two-stage tagging on real files of every format, read back with a fresh mutagen open."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import mutagen
import pytest
from mutagen.flac import Picture

from acquire_fakes import PNG, make_track
from acquire_svc.adapters.tagger import Tagger
from acquire_svc.domain.tagplan import Enrichment, core_tags
from tests.support.audio import EXTENSIONS, FORMATS, make_audio


@pytest.mark.parametrize("fmt", FORMATS)
def test_two_stages_write_and_read_back(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"x{EXTENSIONS[fmt]}", fmt, 1.0, tags={"title": "Believer (Official Video)"})
    track = make_track()
    plan = core_tags(track, album_mbid=True)
    tagger = Tagger(tmp_path / "scratch")

    assert not tagger.stage1_done(path, fmt, plan)
    tagger.stage1(path, fmt, plan)
    assert tagger.stage1_done(path, fmt, plan)
    assert not tagger.stage2_done(path, fmt, track.genres, want_cover=True)

    tagger.stage2(path, fmt, plan, Enrichment(genres=track.genres, cover=PNG, cover_mime="image/png"))
    assert tagger.stage1_done(path, fmt, plan)
    assert tagger.stage2_done(path, fmt, track.genres, want_cover=True)
    assert list((tmp_path / "scratch").iterdir()) == []  # the tagging copy was renamed into place

    easy: Any = mutagen.File(path, easy=True)
    assert easy["title"] == ["Believer"]  # the source's own title was replaced
    assert easy["artist"] == ["Imagine Dragons"]
    assert easy["album"] == ["Evolve"]
    assert easy["musicbrainz_trackid"] == [str(track.recording_mbid)]
    raw: Any = mutagen.File(path)
    if fmt == "mp3":
        assert raw.tags.version == (2, 4, 0)
        assert raw.tags.getall("APIC")[0].data == PNG
    elif fmt == "flac":
        assert raw.pictures[0].data == PNG
    elif fmt in ("ogg", "opus"):
        assert Picture(base64.b64decode(raw["metadata_block_picture"][0])).data == PNG
    else:
        assert bytes(raw.tags["covr"][0]) == PNG


@pytest.mark.parametrize("fmt", ["mp3", "flac", "m4a"])
def test_album_mbid_can_be_left_out(tmp_path: Path, fmt: str) -> None:
    path = make_audio(tmp_path / f"x{EXTENSIONS[fmt]}", fmt, 1.0)
    track = make_track()
    plan = core_tags(track, album_mbid=False)
    assert "musicbrainz_albumid" not in plan
    Tagger(tmp_path / "scratch").stage1(path, fmt, plan)
    easy: Any = mutagen.File(path, easy=True)
    assert "musicbrainz_albumid" not in easy
    assert easy["musicbrainz_trackid"] == [str(track.recording_mbid)]


def test_stage_two_without_cover_is_complete_when_none_is_wanted(tmp_path: Path) -> None:
    path = make_audio(tmp_path / "x.flac", "flac", 1.0)
    track = make_track(genres=[])
    plan = core_tags(track, album_mbid=True)
    tagger = Tagger(tmp_path / "scratch")
    tagger.stage1(path, "flac", plan)
    assert tagger.stage2_done(path, "flac", [], want_cover=False)
    assert not tagger.stage2_done(path, "flac", [], want_cover=True)
