"""Requests by URL alone, through a whole `brainstream up`: the file's own tags say what it is, or the request
fails with the reason. And a request by MBID shows the track's name once it is resolved.

The audio is served by a loopback web server (private addresses allowed for it); only the `url` backend is on, so
what reaches the library came from the URL given.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ..support.audio import make_audio
from ..support.fakeweb import FakeWeb, Reply
from ..support.loopstack import ADMIN_PASSWORD, ADMIN_USER, LoopStack, loop_stack
from ..support.loopworld import LoopWorld
from ..support.stack import health
from ..support.wait import wait_until

WORLD = LoopWorld(4)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeWeb]:
    root = tmp_path_factory.mktemp("served")
    track = WORLD.tracks[0]
    # raw tags, as a download from anywhere has them, but with the recording id a tagger left behind
    tagged = make_audio(
        root / "tagged.flac",
        "flac",
        track.length_ms / 1000,
        tags={"artist": f"{track.artist} - Topic", "title": f"{track.title} (Official Audio)",
              "musicbrainz_trackid": track.recording_mbid},
    )  # fmt: skip
    bare = make_audio(root / "bare.mp3", "mp3", 2.0)
    with FakeWeb() as web:
        web.reply("GET", "/music/tagged.flac", Reply.raw(tagged.read_bytes(), content_type="audio/flac"))
        web.reply("GET", "/music/bare.mp3", Reply.raw(bare.read_bytes(), content_type="audio/mpeg"))
        web.reply("GET", "/watch", Reply.html(200, "<html><head><title>Nothing</title></head><body>no media</body>"))
        yield web


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, files: FakeWeb) -> Iterator[LoopStack]:
    env = {"BRAINSTREAM_URL_ALLOW_PRIVATE": "1", "BRAINSTREAM_ACQUIRE_BACKENDS": "url"}
    with loop_stack(tmp_path_factory.mktemp("urls"), WORLD, env_accounts=False, extra_env=env) as s:
        yield s


@pytest.fixture(scope="module")
async def api(stack: LoopStack) -> AsyncIterator[httpx.AsyncClient]:
    await wait_until(
        lambda: health(stack.port), timeout=120, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
    )
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
        login = await http.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        login.raise_for_status()
        http.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        yield http


async def _request(api: httpx.AsyncClient, body: dict[str, Any]) -> str:
    reply = await api.post("/api/requests", json=body)
    assert reply.status_code == 202, reply.text
    track_id: str = reply.json()["track_id"]
    return track_id


async def _track_when(api: httpx.AsyncClient, track_id: str, done: Any, timeout: float = 60) -> dict[str, Any]:
    async def get() -> dict[str, Any]:
        reply = await api.get(f"/api/tracks/{track_id}")
        return reply.json() if reply.status_code == 200 else {}

    track: dict[str, Any] = await wait_until(get, timeout=timeout, interval=0.3, predicate=lambda t: t and done(t))
    return track


async def test_a_url_to_a_tagged_file_is_resolved_from_its_tags_and_imported(
    stack: LoopStack, files: FakeWeb, api: httpx.AsyncClient
) -> None:
    want = WORLD.tracks[0]
    track_id = await _request(api, {"url": files.url("/music/tagged.flac")})
    track = await _track_when(api, track_id, lambda t: t["state"] in ("imported", "failed"), timeout=90)
    assert (track["state"], track["failure_reason"]) == ("imported", None)
    # the MusicBrainz-normalized names, never the file's raw tags
    assert (track["artist"], track["title"], track["recording_mbid"]) == (want.artist, want.title, want.recording_mbid)
    stages = [entry["stage"] for entry in track["timeline"]]
    assert stages.index("requested") < stages.index("inspected") < stages.index("resolved") < stages.index("imported")
    assert (stack.music_dir / track["path"]).is_file()


async def test_a_url_with_nothing_to_go_on_fails_with_the_reason(
    stack: LoopStack, files: FakeWeb, api: httpx.AsyncClient
) -> None:
    track_id = await _request(api, {"url": files.url("/music/bare.mp3")})
    track = await _track_when(api, track_id, lambda t: t["state"] == "failed")
    assert "no_metadata" in track["failure_reason"] and "no artist and title" in track["failure_reason"]
    assert "invalid_input" not in track["failure_reason"]
    page = (await api.get(f"/tracks/{track_id}")).text  # the page a person opens says so too
    assert "Not identified" in page and "no artist and title" in page and "Waiting for the pipeline" not in page


async def test_a_page_nothing_plays_on_fails_with_the_reason(files: FakeWeb, api: httpx.AsyncClient) -> None:
    # a web page: yt-dlp reads it for what plays there, and finds nothing
    track_id = await _request(api, {"url": files.url("/watch")})
    track = await _track_when(api, track_id, lambda t: t["state"] == "failed")
    assert "URL rejected: download_failed" in track["failure_reason"], track["failure_reason"]
    assert files.count("GET", "/watch") >= 1


async def test_a_request_by_mbid_shows_the_name_once_resolved(api: httpx.AsyncClient) -> None:
    want = WORLD.tracks[1]
    track_id = await _request(api, {"recording_mbid": want.recording_mbid})
    track = await _track_when(api, track_id, lambda t: any(e["stage"] == "resolved" for e in t["timeline"]))
    assert (track["artist"], track["title"]) == (want.artist, want.title)
    assert uuid.UUID(track["recording_mbid"]) == uuid.UUID(want.recording_mbid)
