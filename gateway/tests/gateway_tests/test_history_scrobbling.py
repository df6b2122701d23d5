"""Connecting Last.fm by its web auth flow and switching forwarding per service, on a real gateway against a fake
Last.fm that checks the request signature; the session key reaches ingest-svc's settings and nobody's screen."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import nats
import nats.errors
import pytest

from contracts.livesettings import UserAccounts
from infra.secretbox import open_document
from tests.support.fakeweb import FakeWeb, Reply, Request
from tests.support.nats import NatsEndpoint


def fake_lastfm(web: FakeWeb) -> None:
    def handle(req: Request) -> Reply:
        q = {k: v[0] for k, v in req.query.items()}
        signed = "".join(k + q[k] for k in sorted(q) if k not in ("format", "api_sig"))
        if hashlib.md5((signed + "lfm-secret").encode(), usedforsecurity=False).hexdigest() != q.get("api_sig"):
            return Reply(403, json={"error": 13, "message": "Invalid method signature supplied"})
        if q.get("token") != "granted-token":
            return Reply(403, json={"error": 14, "message": "Unauthorized Token - This token has not been authorized"})
        return Reply(json={"session": {"name": "ada-fm", "key": "sk-from-lastfm", "subscriber": 0}})

    web.route("GET", "/2.0/", handle)


async def test_connect_lastfm_and_switch_forwarding(gateway_factory: Any, nats_endpoint: NatsEndpoint) -> None:
    with FakeWeb() as web:
        fake_lastfm(web)
        gw = await gateway_factory(
            BRAINSTREAM_LASTFM_URL=web.url("/2.0/"),
            BRAINSTREAM_LASTFM_AUTH_URL=web.url("/api/auth/"),
            BRAINSTREAM_LASTFM_API_KEY="lfm-key",
            BRAINSTREAM_LASTFM_API_SECRET="lfm-secret",
        )
        admin = await gw.login()
        try:
            go = await admin.get("/api/me/lastfm/connect")
            assert go.status_code in (302, 303, 307)
            target = urlparse(go.headers["location"])
            assert target.path == "/api/auth/" and parse_qs(target.query)["api_key"] == ["lfm-key"]
            callback = urlparse(parse_qs(target.query)["cb"][0])
            state = parse_qs(callback.query)["state"][0]
            # a token slipped in without this session's state is refused (no connecting someone else's account)
            forged = await admin.get(callback.path, params={"token": "granted-token", "state": "0" * 32})
            assert forged.status_code == 400
            refused = await admin.get(callback.path, params={"token": "other-token", "state": state})
            assert refused.status_code == 400 and "connect again" in refused.text
            back = await admin.get(callback.path, params={"token": "granted-token", "state": state})
            assert back.status_code in (302, 303) and back.headers["location"].startswith("/history")
            status = (await admin.get("/api/me/scrobbling")).json()
            assert status["lastfm"] == {"on": True, "connected": True, "user": "ada-fm"}
            assert "sk-from-lastfm" not in json.dumps(status)
            assert "sk-from-lastfm" not in (await admin.get("/api/users/admin")).text
            off = await admin.put("/api/me/scrobbling", json={"lastfm": False})
            assert off.status_code == 200 and off.json()["lastfm"]["on"] is False
            assert (await admin.put("/api/me/scrobbling", json={"lastfm": "sometimes"})).status_code == 400
            page = await admin.get("/history")
            assert "Sending plays on" in page.text and "as ada-fm" in page.text
        finally:
            await admin.aclose()
        async with httpx.AsyncClient(base_url=gw.url) as anonymous:  # who is asking: nobody, so nothing
            assert (await anonymous.put("/api/me/scrobbling", json={"lastfm": True})).status_code == 401
            assert (await anonymous.get("/api/listens")).status_code == 401

    # ingest-svc reads the key from the settings bucket, like the ListenBrainz token: sealed there, opened with the key
    nc = await nats.connect(nats_endpoint.url)
    try:
        entry = await (await nc.jetstream().key_value("settings")).get("user.admin")
        assert b"sk-from-lastfm" not in (entry.value or b"")
        accounts = UserAccounts.model_validate_json(open_document(gw.state.users.box, entry.value or b""))
        assert accounts.lastfm_session_key == "sk-from-lastfm" and accounts.forward_lastfm is False
    finally:
        await nc.close()
    sealed = gw.state.users.get("admin").accounts_enc
    assert "sk-from-lastfm" not in sealed  # sealed at rest in the gateway's database


async def test_a_clients_now_playing_is_relayed_with_the_built_in_api(
    gateway: Any, fake_library: Any, nats_endpoint: NatsEndpoint
) -> None:
    from libopensonic import AsyncConnection

    from contracts.gateway import NowPlayingReported, ScrobbleSubmitted

    nc = await nats.connect(nats_endpoint.url)
    now_sub = await nc.subscribe(NowPlayingReported.subject)
    played_sub = await nc.subscribe(ScrobbleSubmitted.subject)
    host, port = gateway.url.rsplit(":", 1)
    conn = AsyncConnection(host, port=int(port), server_path="rest", username="admin", password=gateway.app_password())
    try:
        assert await conn.scrobble("tr-1", submission=False)
        event = NowPlayingReported.from_json((await now_sub.next_msg(timeout=10)).data)
        assert (event.user, event.song_id, event.title) == ("admin", "tr-1", "Roygbiv")
        assert event.recording_mbid is not None
        # a submitted play through the built-in API is library-svc's to record, not the gateway's
        assert await conn.scrobble("tr-1", submission=True, listen_time=1_700_000_000)
        with pytest.raises(nats.errors.TimeoutError):
            await played_sub.next_msg(timeout=1)
    finally:
        await conn.cleanup()
        await nc.close()
