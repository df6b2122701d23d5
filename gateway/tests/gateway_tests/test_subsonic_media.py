"""/rest answers the gateway gives itself or guards: tokenInfo for an API key, admin-only radio station changes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import nats
import nats.errors
import pytest
from libopensonic import AsyncConnection

from contracts.gateway import ScrobbleSubmitted
from tests.support.fakeweb import Reply
from tests.support.fakeweb import Request as FakeRequest

from .gateway_fakes import FakeSubsonic


async def test_token_info_names_the_owner_of_the_api_key(gateway: Any, fake_library: FakeSubsonic) -> None:
    host, port = gateway.url.rsplit(":", 1)
    conn = AsyncConnection(host, port=int(port), server_path="rest", api_key=gateway.app_password())
    try:
        assert (await conn.token_info()).username == "admin"
    finally:
        await conn.cleanup()
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        bad = json.loads((await c.get("/rest/tokenInfo", params={"apiKey": "not-a-key", "f": "json"})).content)
    assert bad["subsonic-response"]["error"]["code"] == 44
    assert not [r for r in fake_library.web.requests if "tokenInfo" in r.path]


async def test_radio_station_changes_are_for_administrators(gateway: Any, fake_library: FakeSubsonic) -> None:
    seen: list[FakeRequest] = []

    def created(req: FakeRequest) -> Reply:
        seen.append(req)
        body = {"subsonic-response": {"status": "ok", "version": "1.16.1", "type": "fake", "serverVersion": "1"}}
        return Reply.raw(json.dumps(body).encode(), content_type="application/json")

    fake_library.web.route("GET", "/rest/createInternetRadioStation", created)
    users = gateway.state.users
    users.create("bob", "bob-password-1")
    bob_key = users.rotate_app_password("bob")
    params = {"f": "json", "name": "Night FM", "streamUrl": "http://radio.invalid/a.mp3"}
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        # a client cannot claim to be an administrator with the header the gateway sets
        denied = await c.get(
            "/rest/createInternetRadioStation",
            params={**params, "apiKey": bob_key},
            headers={"X-Brainstream-Admin": "1"},
        )
        assert json.loads(denied.content)["subsonic-response"]["error"]["code"] == 50
        assert seen == []
        ok = await c.get("/rest/createInternetRadioStation", params={**params, "apiKey": gateway.app_password()})
        assert json.loads(ok.content)["subsonic-response"]["status"] == "ok"
    assert len(seen) == 1 and seen[0].header("x-brainstream-admin") == "1"
    assert seen[0].header("x-brainstream-user") == "admin"


async def test_web_player_plays_are_listens_with_navidrome_too(
    gateway_factory: Any, fake_navidrome: FakeSubsonic, nats_endpoint: Any
) -> None:
    gw = await gateway_factory(
        BRAINSTREAM_NAVIDROME_URL=fake_navidrome.base_url,
        BRAINSTREAM_NAVIDROME_USER="nd-admin",
        BRAINSTREAM_NAVIDROME_PASSWORD="nd-secret",
    )
    nc = await nats.connect(nats_endpoint.url)
    sub = await nc.subscribe(ScrobbleSubmitted.subject)
    web = await gw.login()
    try:
        playing = await web.post("/api/library/items/tr-1/scrobble", json={"submission": False})
        assert playing.status_code == 204
        played = await web.post("/api/library/items/tr-1/scrobble", json={"submission": True})
        assert played.status_code == 204
        event = ScrobbleSubmitted.from_json((await sub.next_msg(timeout=5)).data)
        assert (event.user, event.song_id, event.title, event.client) == ("admin", "tr-1", "Roygbiv", "brainstream-web")
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.5)  # now-playing is not a listen
    finally:
        await web.aclose()
        await nc.close()
    submissions = [q.get("submission") for q in fake_navidrome.scrobbles]
    assert submissions == [["false"], ["true"]]
