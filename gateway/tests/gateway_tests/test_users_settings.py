"""First-run setup, users and their accounts in the settings KV, pipeline settings, and who sees what."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import nats

from contracts.gateway import SettingsChanged
from contracts.ingest import PollFailed, PollFailureReason
from contracts.livesettings import PipelineSettings, UserAccounts
from infra.secretbox import open_document
from tests.support.wait import wait_until

from .test_api import publish


async def test_first_run_setup_page_makes_the_first_admin_once(gateway_factory: Any, fake_library: Any) -> None:
    gw = await gateway_factory(BRAINSTREAM_ADMIN_USER="", BRAINSTREAM_ADMIN_PASSWORD="")
    async with httpx.AsyncClient(base_url=gw.url) as c:
        assert (await c.get("/")).headers["location"] == "/setup"
        assert "first administrator" in (await c.get("/setup")).text
        made = await c.post("/api/setup", json={"username": "owner", "password": "owner-password"})
        assert made.status_code == 201 and made.json()["is_admin"]
        again = await c.post("/api/setup", json={"username": "intruder", "password": "intruder-password"})
        assert again.status_code == 403
        assert (await c.get("/setup")).headers["location"] == "/login"


async def test_users_accounts_and_settings_reach_the_settings_bucket(gateway: Any, nats_endpoint: Any) -> None:
    nc = await nats.connect(nats_endpoint.url)
    kv = await nc.jetstream().key_value("settings")
    changes = await nc.subscribe(SettingsChanged.subject)
    admin = await gateway.login()
    made = await admin.post(
        "/api/users",
        json={
            "username": "alice",
            "password": "alice-password",
            "accounts": {"listenbrainz_user": "alice_lb", "listenbrainz_token": "lb-secret-token"},
        },
    )
    assert made.status_code == 201 and made.json()["has_listenbrainz_token"]
    raw = (await kv.get("user.alice")).value or b""
    assert raw.startswith(b"fernet:") and b"lb-secret-token" not in raw  # sealed with the gateway's key
    stored = UserAccounts.model_validate_json(open_document(gateway.state.users.box, raw))
    assert (stored.listenbrainz_user, stored.listenbrainz_token) == ("alice_lb", "lb-secret-token")
    event = SettingsChanged.from_json((await changes.next_msg(timeout=5)).data)
    assert "lb-secret-token" not in event.model_dump_json()

    put = await admin.put("/api/settings", json={"cf_ratio": 0.25, "run_size": 30, "acquire_backends": ["a", "b"]})
    assert put.status_code == 200
    pipeline = PipelineSettings.model_validate_json((await kv.get("pipeline")).value or b"")
    assert (pipeline.cf_ratio, pipeline.run_size, pipeline.acquire_backends) == (0.25, 30, ["a", "b"])
    event = SettingsChanged.from_json((await changes.next_msg(timeout=5)).data)
    assert event.keys == ["acquire_backends", "cf_ratio", "run_size"] and event.values["cf_ratio"] == 0.25

    # the discovery rules and the playlists' share are pipeline settings too; a bad duration says what to write
    bad = await admin.put("/api/settings", json={"discovery": {"keep_for": "three weeks"}})
    assert bad.status_code == 400 and "like 21d" in bad.text
    assert (await admin.put("/api/settings", json={"playlists_ratio": 1.5})).status_code == 400
    put = await admin.put("/api/settings", json={"discovery": {"keep_for": "14d"}, "playlists_ratio": 0.3})
    assert put.status_code == 200, put.text
    pipeline = PipelineSettings.model_validate_json((await kv.get("pipeline")).value or b"")
    assert pipeline.discovery is not None and (pipeline.discovery.keep_for, pipeline.playlists_ratio) == ("14d", 0.3)
    assert pipeline.cf_ratio == 0.25  # fields not sent stay
    event = SettingsChanged.from_json((await changes.next_msg(timeout=5)).data)
    assert event.keys == ["discovery", "playlists_ratio"] and event.values["discovery"]["keep_for"] == "14d"

    no_account = await admin.put("/api/settings", json={"navidrome_url": "http://navidrome.internal:4533"})
    assert no_account.status_code == 400 and "NAVIDROME_USER" in no_account.text

    alice = await gateway.login("alice", "alice-password")
    assert (await alice.put("/api/settings", json={"run_size": 1})).status_code == 403
    assert (await alice.get("/api/users")).status_code == 403
    alice_pw = (await alice.get("/api/me/subsonic-password")).json()["password"]
    assert alice_pw != gateway.app_password()

    # who sees what: alice sees her own and system-wide events, not admin's
    admin_req = (await admin.post("/api/requests", json={"recording_mbid": str(uuid.uuid4())})).json()
    alice_req = (await alice.post("/api/requests", json={"recording_mbid": str(uuid.uuid4())})).json()
    found = lambda r: r.status_code == 200  # noqa: E731
    await wait_until(lambda: alice.get(f"/api/tracks/{alice_req['track_id']}"), predicate=found)
    await wait_until(lambda: admin.get(f"/api/tracks/{admin_req['track_id']}"), predicate=found)
    assert (await alice.get(f"/api/tracks/{admin_req['track_id']}")).status_code == 404
    assert {t["id"] for t in (await alice.get("/api/tracks")).json()["items"]} == {alice_req["track_id"]}
    async with alice.stream("GET", "/api/events", headers={"Last-Event-ID": "0-0-0-0-0"}) as sse:
        await publish(nats_endpoint.url, PollFailed(source="cf", reason=PollFailureReason.TIMEOUT))
        users = []
        async for line in sse.aiter_lines():
            if line.startswith("data: "):
                item = json.loads(line[6:])
                users.append(item["user"])
                if item["subject"] == PollFailed.subject:
                    break
    assert "admin" not in users and "alice" in users and None in users

    assert (await admin.delete("/api/users/alice")).status_code == 204
    assert (await alice.get("/api/me")).status_code == 401
    for c in (admin, alice):
        await c.aclose()
    await nc.close()
