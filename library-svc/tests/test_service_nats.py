"""The whole service on a real nats-server: tagged file → library → TrackImported and library_owned; commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from library_builders import tagged
from library_server import free_port
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from contracts.gateway import RemoveTrack, StartScan
from contracts.library import ScanCompleted, TrackImported, TrackRemoved
from library_svc.app import Service, build, serve
from library_svc.settings import Settings
from tests.support.audio import make_library
from tests.support.nats import NatsEndpoint, subject_messages
from tests.support.wait import wait_until


@pytest.fixture
async def running(nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path) -> AsyncIterator[Service]:
    music = tmp_path / "music"
    make_library(music, 3)
    settings = Settings(
        NATS_URL=nats_endpoint.url,
        BRAINSTREAM_DATA_DIR=tmp_path / "data",
        BRAINSTREAM_MUSIC_DIR=music,
        BRAINSTREAM_LIBRARY_HTTP_PORT=free_port(),
    )
    stale = await provisioned.key_value("library_owned")
    await stale.put("00000000-0000-0000-0000-000000000000", b'{"track_id": "gone", "path": "gone.mp3"}')
    service = build(settings)
    task = asyncio.create_task(serve(service))
    try:
        yield service
    finally:
        service.runtime.request_stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)


async def test_tagged_file_is_imported_owned_and_served(
    running: Service, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    js = provisioned
    # the start-up scan indexed the existing folder
    start = await wait_until(lambda: subject_messages(js, ScanCompleted.subject), timeout=20)
    assert ScanCompleted.from_json(start[0]).added == 3

    event = tagged(tmp_path / "staging", 1)
    await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})
    [raw] = await wait_until(lambda: subject_messages(js, TrackImported.subject), timeout=20)
    imported = TrackImported.from_json(raw)
    assert imported.causation_id == event.event_id
    assert (running.settings.music_dir / imported.path).is_file()

    kv = await js.key_value("library_owned")

    async def stale_gone() -> bool:
        try:
            await kv.get("00000000-0000-0000-0000-000000000000")
        except KeyNotFoundError:
            return True
        return False

    await wait_until(stale_gone, timeout=20)  # the start-up sync removed what the catalog does not hold
    entry = await kv.get(str(event.track.recording_mbid))
    assert json.loads(entry.value or b"") == {"track_id": imported.track_id, "path": imported.path}

    url = f"http://127.0.0.1:{running.settings.http_port}/rest/getSong"
    secret = running.settings.api_secret
    key_file = running.settings.data_dir / "secrets" / "library-api.key"
    assert key_file.read_text() == secret and key_file.stat().st_mode & 0o777 == 0o600  # made at first start
    async with httpx.AsyncClient() as http:
        gateway = {"X-Brainstream-User": "a", "X-Brainstream-Internal": secret}
        resp = await http.get(url, params={"id": imported.track_id, "f": "json"}, headers=gateway)
        assert resp.json()["subsonic-response"]["song"]["title"] == "Song 1"
        # anyone else on the host: naming a user is not enough, with the header, `u=` or a wrong secret
        for headers, params in (
            ({"X-Brainstream-User": "a"}, {}),
            ({}, {"u": "a"}),
            ({"X-Brainstream-User": "a", "X-Brainstream-Internal": secret[:-1] + "0"}, {}),
        ):
            refused = await http.get(url, params={"id": imported.track_id, "f": "json", **params}, headers=headers)
            assert refused.status_code == 401 and "Song 1" not in refused.text
            assert "gateway" in refused.json()["error"]
        playlists = await http.get(url.replace("getSong", "getPlaylists"), params={"u": "a", "f": "json"})
        assert playlists.status_code == 401

    scan = StartScan(user="a")
    await js.publish(scan.subject, scan.to_json(), headers={"Nats-Msg-Id": str(scan.event_id)})
    done = await wait_until(lambda: subject_messages(js, ScanCompleted.subject), predicate=lambda e: len(e) >= 2)
    second = ScanCompleted.from_json(done[1])
    assert second.causation_id == scan.event_id and second.unchanged == 4

    removal = RemoveTrack(track_id=imported.track_id, user="a")
    await js.publish(removal.subject, removal.to_json(), headers={"Nats-Msg-Id": str(uuid.uuid4())})
    [gone] = await wait_until(lambda: subject_messages(js, TrackRemoved.subject), timeout=20)
    assert TrackRemoved.from_json(gone).track_id == imported.track_id
    assert not (running.settings.music_dir / imported.path).exists()
    with pytest.raises(KeyNotFoundError):
        await kv.get(str(event.track.recording_mbid))
