"""Changes apply live: the Navidrome upstream switched in settings, and an idle live feed keeps its connection."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.wait import wait_until

from .gateway_fakes import FakeSubsonic


async def test_upstream_switches_to_navidrome_when_the_setting_changes(
    gateway_factory: Any, fake_library: FakeSubsonic, fake_navidrome: FakeSubsonic
) -> None:
    gw = await gateway_factory(
        BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url,
        BRAINSTREAM_NAVIDROME_USER="nd-admin",
        BRAINSTREAM_NAVIDROME_PASSWORD="nd-secret",
    )
    params = {"u": "admin", "p": gw.app_password(), "f": "json"}
    async with httpx.AsyncClient(base_url=gw.url) as c:
        assert (await c.get("/rest/getArtists", params=params)).status_code == 200
        assert fake_library.web.count("GET", "/rest/getArtists") == 1
        admin = await gw.login()
        put = await admin.put("/api/settings", json={"navidrome_url": fake_navidrome.base_url})
        assert put.status_code == 200

        async def via_navidrome() -> int:
            await c.get("/rest/getArtists", params=params)
            return fake_navidrome.web.count("GET", "/rest/getArtists")

        await wait_until(via_navidrome)
        body = (await c.get("/rest/getArtists", params=params)).json()["subsonic-response"]
        assert body["status"] == "ok" and body["artists"]["index"][0]["artist"][0]["name"] == "Boards of Canada"
        assert (await admin.put("/api/settings", json={"navidrome_url": ""})).json()["navidrome_url"] is None
        await admin.aclose()


async def test_navidrome_account_set_live_is_used_upstream_and_never_shown(
    gateway_factory: Any, fake_library: FakeSubsonic, fake_navidrome: FakeSubsonic
) -> None:
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url)  # no Navidrome account in the env
    params = {"u": "admin", "p": gw.app_password(), "f": "json"}
    admin = await gw.login()
    refused = await admin.put("/api/settings", json={"navidrome_url": fake_navidrome.base_url})
    assert refused.status_code == 400 and "navidrome_user" in refused.text
    put = await admin.put(
        "/api/settings",
        json={
            "navidrome_url": fake_navidrome.base_url,
            "navidrome_user": "nd-admin",
            "navidrome_password": "nd-secret",
        },
    )
    assert put.status_code == 200
    shown = (await admin.get("/api/settings")).json()
    assert shown["navidrome_user"] == "nd-admin" and shown["navidrome_password_set"] is True
    assert "nd-secret" not in put.text + str(shown) and "navidrome_password_sealed" not in shown
    async with httpx.AsyncClient(base_url=gw.url) as c:

        async def via_navidrome() -> dict[str, Any]:
            body: dict[str, Any] = (await c.get("/rest/getArtists", params=params)).json()["subsonic-response"]
            return body

        # the fake answers only to nd-admin / nd-secret, as token + salt: the account came from the live settings
        body = await wait_until(
            via_navidrome,
            predicate=lambda b: b.get("status") == "ok" and fake_navidrome.web.count("GET", "/rest/getArtists") > 0,
        )
        assert body["artists"]["index"][0]["artist"][0]["name"] == "Boards of Canada"

        # a wrong password set live takes over just as fast: Navidrome now refuses the gateway
        await admin.put("/api/settings", json={"navidrome_password": "wrong"})
        await wait_until(via_navidrome, predicate=lambda b: b.get("status") == "failed")
    await admin.aclose()


async def test_idle_live_feed_sends_keep_alives(gateway: Any) -> None:
    token = await gateway.token()
    async with (
        httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}) as c,
        c.stream("GET", "/api/events") as sse,
    ):
        assert sse.headers["content-type"].startswith("text/event-stream")
        async for line in sse.aiter_lines():
            if line.startswith(": keep-alive"):
                break
    async with httpx.AsyncClient(base_url=gateway.url) as anonymous:
        assert (await anonymous.get("/api/events")).status_code == 401
