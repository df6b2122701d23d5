"""Inbox folder: files matched by MBID tag, by title/artist tags, or by file name."""

from __future__ import annotations

from pathlib import Path

from acquire_fakes import make_track
from acquire_svc.backends.inbox import InboxBackend
from acquire_svc.ports import Wanted
from tests.support.audio import make_audio


def want_of(title: str, artist: str, duration_s: float = 3.0) -> Wanted:
    t = make_track(title=title, artist=artist)
    return Wanted(t.recording_mbid, t.title, t.artist, [artist], t.album, duration_s)


async def progress(done: int) -> None:
    return None


async def test_matches_by_tags_then_file_name_never_a_similar_title(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    make_audio(inbox / "x1.mp3", "mp3", 3.0, tags={"title": "Believe Her", "artist": "Imagine Dragons"})
    make_audio(inbox / "sub/x2.flac", "flac", 3.0, tags={"title": "Believer", "artist": "Imagine Dragons"})
    make_audio(inbox / "Imagine Dragons - Thunder.ogg", "ogg", 3.0)
    make_audio(inbox / "07 Radioactive.opus", "opus", 3.0)
    make_audio(inbox / "Other Band - Believer.mp3", "mp3", 3.0)
    (inbox / "notes.txt").write_text("not audio")
    backend = InboxBackend(inbox)

    found = await backend.search(want_of("Believer", "Imagine Dragons"))
    assert [c.ref.name for c in found] == ["x2.flac"]
    assert [c.ref.name for c in await backend.search(want_of("Thunder", "Imagine Dragons"))] == [
        "Imagine Dragons - Thunder.ogg"
    ]
    assert [c.ref.name for c in await backend.search(want_of("Radioactive", "Imagine Dragons"))] == [
        "07 Radioactive.opus"
    ]
    assert await backend.search(want_of("Demons", "Imagine Dragons")) == []

    work = tmp_path / "work"
    work.mkdir()
    copy = await backend.fetch(found[0], work, progress)
    assert copy.read_bytes() == (inbox / "sub/x2.flac").read_bytes()
    await backend.taken(found[0])
    assert not (inbox / "sub/x2.flac").exists()
    assert await backend.search(want_of("Believer", "Imagine Dragons")) == []


async def test_mbid_tag_wins_over_names(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    want = want_of("Believer", "Imagine Dragons")
    make_audio(inbox / "Imagine Dragons - Believer.mp3", "mp3", 3.0)
    make_audio(
        inbox / "track.flac", "flac", 3.0, tags={"title": "whatever", "musicbrainz_trackid": str(want.recording_mbid)}
    )
    found = await InboxBackend(inbox).search(want)
    assert [c.ref.name for c in found] == ["track.flac"]


async def test_a_replaced_file_is_a_new_candidate(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    path = make_audio(inbox / "Imagine Dragons - Believer.mp3", "mp3", 3.0)
    backend = InboxBackend(inbox)
    want = want_of("Believer", "Imagine Dragons")
    (first,) = await backend.search(want)
    make_audio(path, "mp3", 4.0)
    (second,) = await backend.search(want)
    assert first.candidate_id != second.candidate_id
