"""yt-dlp: its search through a fake seam, its download for real (generic extractor, loopback HTTP server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import mutagen
import pytest

from acquire_fakes import Wired, make_resolved, make_track
from acquire_svc.backends.ytdlp import YtDlpBackend
from acquire_svc.ports import CandidateRefused, Wanted
from contracts.acquire import TrackTagged
from tests.support.audio import make_audio
from tests.support.fakeweb import FakeWeb, Reply


def fake_search(web: FakeWeb, calls: list[tuple[str, int]]) -> Any:
    entries = [
        {
            "id": "live1",
            "title": "Imagine Dragons - Believer (Live in Vegas)",
            "duration": 3,
            "url": web.url("/v/live.mp3"),
        },
        {"id": "wrong", "title": "Believe Her", "duration": 3, "url": web.url("/v/wrong.mp3")},
        {
            "id": "long",
            "title": "Imagine Dragons - Believer (Official Video)",
            "duration": 60,
            "url": web.url("/v/long.mp3"),
        },
        {"id": "good", "title": "Imagine Dragons - Believer (Audio)", "duration": 3, "url": web.url("/v/good.mp3")},
        {"id": "nightcore", "title": "Believer nightcore", "duration": 3, "url": web.url("/v/nc.mp3")},
    ]

    async def search(query: str, n: int) -> list[dict[str, Any]]:
        calls.append((query, n))
        return entries[:n]

    return search


async def progress(done: int) -> None:
    return None


def want() -> Wanted:
    t = make_track()
    return Wanted(t.recording_mbid, t.title, t.artist, [t.artist], t.album, 3.0)


@pytest.mark.parametrize("ffmpeg", [None, "imageio"])
async def test_search_ranks_and_downloads_best_audio(tmp_path: Path, ffmpeg: str | None) -> None:
    data = make_audio(tmp_path / "good.mp3", "mp3", 3.0).read_bytes()
    calls: list[tuple[str, int]] = []
    with FakeWeb() as web:
        web.reply("GET", "/v/good.mp3", Reply.raw(data, content_type="audio/mpeg"))
        backend = YtDlpBackend(
            fake_search(web, calls),
            results=5,
            ffmpeg=imageio_ffmpeg.get_ffmpeg_exe() if ffmpeg else None,
            socket_timeout_s=5,
            timeout_s=60,
        )
        found = await backend.search(want())
        assert calls == [("Imagine Dragons - Believer", 5)]
        assert [c.candidate_id for c in found] == ["good", "long"]
        work = tmp_path / "work"
        work.mkdir()
        path = await backend.fetch(found[0], work, progress)
    audio: Any = mutagen.File(path)
    assert type(audio).__name__ == "MP3"
    assert abs(audio.info.length - 3.0) < 0.2


async def test_download_failure_is_a_refused_candidate(tmp_path: Path) -> None:
    with FakeWeb() as web:
        web.reply("GET", "/v/long.mp3", Reply.html(403, "<h1>Forbidden</h1>"))
        backend = YtDlpBackend(fake_search(web, []), ffmpeg=None, socket_timeout_s=5, timeout_s=60)
        found = await backend.search(want())
        work = tmp_path / "work"
        work.mkdir()
        with pytest.raises(CandidateRefused):
            await backend.fetch(found[1], work, progress)


async def test_service_end_to_end_with_ytdlp(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    data = make_audio(tmp_path / "good.mp3", "mp3", 3.0).read_bytes()
    with FakeWeb() as web:
        web.reply("GET", "/v/good.mp3", Reply.raw(data, content_type="audio/mpeg"))
        web.reply("GET", "/v/long.mp3", Reply.raw(data, content_type="audio/mpeg"))
        backend = YtDlpBackend(fake_search(web, []), ffmpeg=None, socket_timeout_s=5, timeout_s=60)
        w = wire({"yt-dlp": backend})
        await w.service.handle(make_resolved(make_track()), last_try=False)
        (tagged,) = w.of(TrackTagged)
        assert tagged.format == "mp3"
        assert web.count("GET", "/v/live.mp3") == 0 and web.count("GET", "/v/wrong.mp3") == 0
