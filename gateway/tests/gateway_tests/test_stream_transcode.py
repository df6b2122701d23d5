"""Transcoded streams through the gateway, real library-svc behind it: a client that hangs up, on /rest or on the web
UI's player route, stops library-svc's ffmpeg at once (the gateway's relay closes the upstream connection)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from mutagen.mp3 import MP3

from tests.support.audio import make_audio
from tests.support.librarysvc import library_env, running_library_svc
from tests.support.wait import wait_until

from .conftest import ADMIN


async def test_hang_up_through_the_gateway_kills_ffmpeg(
    gateway_factory: Callable[..., Any], nats_endpoint: Any, provisioned: Any, tmp_path: Path
) -> None:
    music = tmp_path / "music"
    tags = {"title": "Long Tide", "artist": "Cold Harbour", "album": "Long Drive"}
    make_audio(music / "Cold Harbour" / "Long Drive" / "01 Long Tide.flac", "flac", 600.0, tags=tags)
    make_audio(music / "Cold Harbour" / "Short" / "01 Short.flac", "flac", 3.0, tags={**tags, "title": "Short"})
    async with running_library_svc(nats_endpoint.url, tmp_path / "library-data", music) as library:
        transcoder = library.http.config.app.app.ctx.media.transcoder
        gateway = await gateway_factory(**library_env(library))
        auth = {"u": ADMIN, "p": gateway.app_password(), "f": "json"}
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as c:
            found = (await c.get("/rest/search3", params={**auth, "query": "tide"})).json()
            song_id = found["subsonic-response"]["searchResult3"]["song"][0]["id"]
            short = (await c.get("/rest/search3", params={**auth, "query": "short"})).json()
            short_id = short["subsonic-response"]["searchResult3"]["song"][0]["id"]
            # a whole transcode, relayed: MP3 at 128 kbps
            whole = await c.get("/rest/stream", params={**auth, "id": short_id, "format": "mp3", "maxBitRate": 128})
            assert whole.headers["content-type"] == "audio/mpeg"
            assert MP3(io.BytesIO(whole.content)).info.bitrate <= 128_000

            # 320 kbps: 24 MB for the ten minutes, far more than the sockets between here and ffmpeg can hold
            params = {**auth, "id": song_id, "format": "mp3", "maxBitRate": 320}
            async with c.stream("GET", "/rest/stream", params=params) as resp:
                assert resp.status_code == 200
                async for _ in resp.aiter_bytes():
                    break
                assert len(transcoder.running) == 1
            await wait_until(lambda: _settled(transcoder), predicate=bool, timeout=30)
            assert transcoder.ended[-1].outcome == "killed"

        web = await gateway.login()
        try:
            # the original file for the browser, byte ranges passed through both ways
            part = await web.get(f"/api/library/stream/{short_id}", headers={"Range": "bytes=0-99"})
            assert part.status_code == 206 and len(part.content) == 100 and part.content[:4] == b"fLaC"
            past = await web.get(f"/api/library/stream/{short_id}", headers={"Range": "bytes=99999999-"})
            assert past.status_code == 416
            missing = await web.get("/api/library/stream/no-such-song")
            assert missing.status_code == 404
            player = {"format": "opus", "max_bitrate": 256}
            async with web.stream("GET", f"/api/library/stream/{song_id}", params=player) as resp:
                assert resp.status_code == 200 and resp.headers["content-type"] == "audio/ogg"
                async for _ in resp.aiter_bytes():
                    break
            await wait_until(lambda: _settled(transcoder), predicate=bool, timeout=30)
            assert transcoder.ended[-1].outcome == "killed" and len(transcoder.ended) == 3
        finally:
            await web.aclose()


async def _settled(transcoder: Any) -> bool:
    return not transcoder.running
