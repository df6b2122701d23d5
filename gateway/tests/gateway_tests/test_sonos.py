"""Sonos speakers in the web UI: the real ingest-svc polls fake speakers on loopback, the gateway shows each speaker's
state from ingest-svc's health answer, the settings change which speakers are polled without a restart, and the
dashboard in Debian's chromium shows what plays where."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright, expect

from infra.http import HttpSettings
from ingest_svc.app import Ingest
from ingest_svc.settings import Settings as IngestSettings
from tests.support.fakesonos import FakeHousehold, FakeSpeaker, Segment, radio, spotify
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .conftest import ADMIN, ADMIN_PASSWORD
from .test_browser import CHROMIUM, SHOTS, _need_chromium


@pytest.fixture
def speakers() -> Iterator[list[FakeSpeaker]]:
    started = time.monotonic()
    household = FakeHousehold()
    clock: Callable[[], float] = lambda: time.monotonic() - started  # noqa: E731
    made = [
        FakeSpeaker("127.0.0.2", "Living Room", household, clock).start(),
        FakeSpeaker("127.0.0.3", "Kitchen", household, clock).start(),
        FakeSpeaker("127.0.0.4", "Den", household, clock).start(),
    ]
    made[0].play(Segment(0, "PLAYING", 0, radio("s24939", "Radio Paradise", "Nina Simone - Feeling Good")))
    made[2].play(Segment(0, "PLAYING", 0, spotify("jjj", "Hoppipolla", "Sigur Ros", "Takk...", 268)))
    yield made
    for speaker in made:
        with contextlib.suppress(RuntimeError):
            speaker.stop()


@contextlib.asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[Ingest]:
    app = Ingest(settings, HttpSettings(BRAINSTREAM_HTTP_TIMEOUT=1.0, BRAINSTREAM_HTTP_RETRIES=0))
    await app.runtime.start()
    task = asyncio.create_task(app.background())
    try:
        yield app
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await app.runtime.stop()


@pytest.fixture
def ingest_settings(nats_endpoint: NatsEndpoint, provisioned: Any, speakers: list[FakeSpeaker]) -> IngestSettings:
    living, kitchen, _ = speakers
    return IngestSettings(
        NATS_URL=nats_endpoint.url,
        BRAINSTREAM_SONOS_SPEAKERS=f"{living.address},{kitchen.address}",
        BRAINSTREAM_SONOS_INTERVAL=1,
        BRAINSTREAM_SONOS_TIMEOUT=2,
        BRAINSTREAM_SONOS_USERS="Kitchen=bob",
        BRAINSTREAM_LISTENBRAINZ_USER=None,
        BRAINSTREAM_LASTFM_USER=None,
        BRAINSTREAM_SPOTIFY_REFRESH_TOKEN=None,
    )  # type: ignore[call-arg]


@pytest.fixture
async def ingest(ingest_settings: IngestSettings) -> AsyncIterator[Ingest]:
    async with running_ingest(ingest_settings) as app:
        yield app


def _by_room(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["room"] or s["address"]: s for s in body["speakers"]}


async def test_speakers_state_reaches_the_api_and_the_dashboard_and_settings_apply_live(
    gateway_factory: Callable[..., Any],
    fake_library: Any,
    ingest: Ingest,
    ingest_settings: IngestSettings,
    speakers: list[FakeSpeaker],
) -> None:
    living, kitchen, den = speakers
    gateway = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url)
    admin = await gateway.login()
    try:
        async with httpx.AsyncClient(base_url=gateway.url) as stranger:
            assert (await stranger.get("/api/sonos")).status_code == 401

        polled = await wait_until(
            lambda: admin.get("/api/sonos"),
            predicate=lambda r: (
                r.status_code == 200 and _by_room(r.json()).get("Living Room", {}).get("title") == "Feeling Good"
            ),
            timeout=20,
        )
        rooms = _by_room(polled.json())
        now = rooms["Living Room"]
        assert (now["artist"], now["service"], now["station"], now["status"]) == (
            "Nina Simone", "tunein", "Radio Paradise", "ok"
        )  # fmt: skip
        assert now["last_poll"] and now["user"] == ADMIN
        assert rooms["Kitchen"]["user"] == "bob"

        # a second ingest-svc process stands by (the first holds the scheduler lease): the page still shows the
        # speakers of the process that polls them, whichever process answers first
        async with running_ingest(ingest_settings) as standby:
            await wait_until(lambda: standby.sonos_health.standby is not None, timeout=20)
            for _ in range(6):
                assert "Living Room" in _by_room((await admin.get("/api/sonos")).json())

        kitchen.stop()  # switched off: shown as unreachable with its last success, the living room goes on
        off = await wait_until(
            lambda: admin.get("/api/sonos"),
            predicate=lambda r: _by_room(r.json()).get("Kitchen", {}).get("status") == "unreachable",
            timeout=20,
        )
        assert off.json()["status"] == "degraded"
        assert _by_room(off.json())["Kitchen"]["last_success"]

        bad = await admin.put("/api/settings", json={"sonos_speakers": ["not a host!"]})
        assert bad.status_code == 400 and "sonos_speakers" in bad.text
        bad_user = await admin.put("/api/settings", json={"sonos_users": {"Den": "bob smith"}})
        assert bad_user.status_code == 400
        put = await admin.put("/api/settings", json={"sonos_speakers": [den.address], "sonos_users": {"Den": "bob"}})
        assert put.status_code == 200, put.text
        switched = await wait_until(
            lambda: admin.get("/api/sonos"),
            predicate=lambda r: set(_by_room(r.json())) == {"Den"} and _by_room(r.json())["Den"]["title"],
            timeout=20,
        )
        den_now = _by_room(switched.json())["Den"]
        assert (den_now["title"], den_now["service"], den_now["user"]) == ("Hoppipolla", "spotify", "bob")

        _need_chromium()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            try:
                page = await browser.new_page(viewport={"width": 900, "height": 900})
                await page.goto(gateway.url + "/login")
                await page.fill("input[name=username]", ADMIN)
                await page.fill("input[name=password]", ADMIN_PASSWORD)
                await page.click("button[type=submit]")
                row = page.locator(f'#speakers tr[data-speaker="{den.address}"]')
                await expect(row).to_contain_text("Den", timeout=15_000)
                await expect(row).to_contain_text("Sigur Ros \u2013 Hoppipolla")
                await expect(row).to_contain_text("spotify")
                await expect(row).to_contain_text("playing")
                await expect(page.locator("#speakers-note")).to_contain_text("Last poll")
                await page.screenshot(path=str(SHOTS / "dashboard-speakers.png"), full_page=True)

                # the settings form: back to both speakers, the living room now alice's
                await page.goto(gateway.url + "/settings")
                form = page.locator("#sonos-form")
                await expect(form.locator("input[name=sonos_speakers]")).to_have_value(den.address)
                await form.locator("input[name=sonos_speakers]").fill(f"{living.address}, {den.address}")
                await form.locator("input[name=sonos_users]").fill("Living Room=alice, Den=bob")
                await form.locator("input[name=sonos_interval_s]").fill("2")
                await form.locator("button[type=submit]").click()
                await expect(page.locator("#toast")).to_contain_text("Saved")
            finally:
                await browser.close()
        saved = (await admin.get("/api/settings")).json()
        assert saved["sonos_speakers"] == [living.address, den.address]
        assert saved["sonos_users"] == {"Living Room": "alice", "Den": "bob"}
        assert saved["sonos_interval_s"] == 2
        both = await wait_until(
            lambda: admin.get("/api/sonos"),
            predicate=lambda r: _by_room(r.json()).get("Living Room", {}).get("user") == "alice",
            timeout=20,
        )
        assert set(_by_room(both.json())) == {"Living Room", "Den"}

        # a user sees the speakers whose plays are theirs
        made = await admin.post("/api/users", json={"username": "bob", "password": "bob-password-1"})
        assert made.status_code == 201, made.text
        bob = await gateway.login("bob", "bob-password-1")
        try:
            assert set(_by_room((await bob.get("/api/sonos")).json())) == {"Den"}
        finally:
            await bob.aclose()
    finally:
        await admin.aclose()
