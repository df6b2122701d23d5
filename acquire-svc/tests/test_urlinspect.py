"""A URL given alone: a file read for its tags, a page read by yt-dlp (a fake reader here), or why it cannot say."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from acquire_svc.adapters.staging import Staging
from acquire_svc.backends.url import UrlBackend
from acquire_svc.ports import CandidateRefused
from acquire_svc.urlinspect import UrlInspector, query_from_page
from contracts.acquire import RejectionReason, UrlInspected, UrlMetadataSource, UrlProblem, UrlRejected
from contracts.base import Message
from contracts.common import TrackQuery
from contracts.gateway import RequestTrack
from tests.support.audio import make_audio
from tests.support.fakeweb import FakeWeb, Reply

MBID = "8f3471b5-7e6a-48da-86a9-c1c07a0f47ae"


@pytest.mark.parametrize(
    ("info", "artist", "title"),
    [
        ({"track": "Roads", "artist": "Portishead, Beth Gibbons", "album": "Dummy"}, "Portishead", "Roads"),
        (
            {"title": "Portishead - Roads (Official Video)", "uploader": "someone"},
            "Portishead",
            "Roads (Official Video)",
        ),
        ({"title": "Portishead \u2013 Roads", "duration": 305.2}, "Portishead", "Roads"),
        ({"title": "my holiday video", "uploader": "someone"}, None, None),
    ],
)
def test_page_metadata_names_a_track_from_its_music_fields_or_its_title(
    info: dict[str, Any], artist: str | None, title: str | None
) -> None:
    q = query_from_page(info)
    assert (q.artist, q.title) == (artist, title)


def _request(url: str) -> RequestTrack:
    return RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(), url=url)


async def _inspect(tmp_path: Path, url: str, page: dict[str, Any] | Exception | None = None) -> list[Message]:
    published: list[Message] = []
    pages: list[str] = []

    async def publish(event: Message) -> None:
        published.append(event)

    async def read_page(page_url: str) -> dict[str, Any]:
        pages.append(page_url)
        if isinstance(page, Exception):
            raise page
        return page or {}

    async def progress(_: int) -> None:
        return None

    async with httpx.AsyncClient() as client:
        backend = UrlBackend(client, max_bytes=10_000_000, allow_private=True)
        inspector = UrlInspector(backend, read_page, Staging(tmp_path / "staging"), publish)
        await inspector.handle(_request(url), progress)
    assert not any((tmp_path / "staging" / ".partial").iterdir())  # the inspection's download is gone
    return published


async def test_a_file_is_named_by_its_own_tags(tmp_path: Path) -> None:
    tags = {"artist": "Portishead", "title": "Roads", "album": "Dummy", "musicbrainz_trackid": MBID}
    audio = make_audio(tmp_path / "a.ogg", "ogg", 2.0, tags=tags)
    with FakeWeb() as web:
        web.reply("GET", "/a.ogg", Reply.raw(audio.read_bytes(), content_type="audio/ogg"))
        (event,) = await _inspect(tmp_path, web.url("/a.ogg"))
    assert isinstance(event, UrlInspected) and event.source is UrlMetadataSource.FILE_TAGS
    assert (event.query.artist, event.query.title, event.query.album) == ("Portishead", "Roads", "Dummy")
    assert str(event.query.recording_mbid) == MBID
    assert event.query.duration_ms is not None and 1900 <= event.query.duration_ms <= 2100


async def test_a_page_is_named_by_what_yt_dlp_reads_on_it(tmp_path: Path) -> None:
    with FakeWeb() as web:
        web.reply("GET", "/watch", Reply.html(200, "<html>a player</html>"))
        (event,) = await _inspect(tmp_path, web.url("/watch"), {"track": "Roads", "artist": "Portishead"})
    assert isinstance(event, UrlInspected) and event.source is UrlMetadataSource.PAGE
    assert (event.query.artist, event.query.title) == ("Portishead", "Roads")


@pytest.mark.parametrize(
    ("path", "reply", "page", "problem", "words"),
    [
        ("/bare.mp3", "bare", None, UrlProblem.NO_METADATA, "the file's tags name no artist and title"),
        ("/title-only.mp3", "title-only", None, UrlProblem.NO_METADATA, "(only title 'Roads')"),
        ("/junk.mp3", "junk", None, UrlProblem.NOT_AUDIO, "not audio"),
        ("/gone.mp3", "404", None, UrlProblem.DOWNLOAD_FAILED, "HTTP 404"),
        ("/watch", "page", {"title": "my holiday"}, UrlProblem.NO_METADATA, "the page's metadata name no artist"),
        ("/watch", "page", CandidateRefused(RejectionReason.DOWNLOAD_FAILED, "Unsupported URL"),
         UrlProblem.DOWNLOAD_FAILED, "Unsupported URL"),
    ],
)  # fmt: skip
async def test_nothing_to_go_on_ends_the_request_with_the_reason(
    tmp_path: Path, path: str, reply: str, page: Any, problem: UrlProblem, words: str
) -> None:
    replies = {
        "bare": Reply.raw(make_audio(tmp_path / "b.mp3", "mp3", 2.0).read_bytes(), content_type="audio/mpeg"),
        "title-only": Reply.raw(
            make_audio(tmp_path / "t.mp3", "mp3", 2.0, tags={"title": "Roads"}).read_bytes(), content_type="audio/mpeg"
        ),
        "junk": Reply.raw(b"\x00" * 4096, content_type="audio/mpeg"),
        "404": Reply.html(404, "not here"),
        "page": Reply.html(200, "<html>nothing</html>"),
    }
    with FakeWeb() as web:
        web.reply("GET", path, replies[reply])
        (event,) = await _inspect(tmp_path, web.url(path), page)
    assert isinstance(event, UrlRejected)
    assert event.reason is problem and words in event.detail, event.detail


async def test_a_request_that_names_its_track_is_left_to_resolve(tmp_path: Path) -> None:
    published: list[Message] = []

    async def publish(event: Message) -> None:
        published.append(event)

    async def never(_: str) -> dict[str, Any]:
        raise AssertionError("no page to read")

    async with httpx.AsyncClient() as client:
        inspector = UrlInspector(UrlBackend(client, max_bytes=1, allow_private=True), never, Staging(tmp_path), publish)
        named = RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="A", title="B"), url="http://x.invalid/")
        await inspector.handle(named, lambda _: _noop())
    assert published == []


async def _noop() -> None:
    return None
