"""The History page in Debian's chromium: plays from three sources shown as one, filtered by source and date, the
unmatched listed with their reason, ListenBrainz's playing-now shown live, and forwarding switched off."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright, expect

from contracts.resolve import ListenUnmatched, ListenUnmatchedReason
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .conftest import ADMIN, ADMIN_PASSWORD
from .test_browser import CHROMIUM, SHOTS, _need_chromium
from .test_history_live import MBID, T0, listen, publish_all


async def test_history_page_in_the_browser(gateway_factory: Any, nats_endpoint: NatsEndpoint, tmp_path: Path) -> None:
    _need_chromium()
    with FakeWeb() as lb:
        now = {"track_metadata": {"artist_name": "Cold Harbour", "track_name": "Tidewater", "release_name": "Fog"}}
        lb.route("GET", "/1/user/adm-lb/playing-now", lambda r: Reply(json={"payload": {"listens": [now]}}))
        gw = await gateway_factory(BRAINSTREAM_LISTENBRAINZ_URL=lb.base_url)
        unknown = listen("admin", "lastfm", T0 + timedelta(days=1), title="Unknown Demo")
        await publish_all(
            nats_endpoint.url,
            [
                listen("admin", "listenbrainz", T0, recording_mbid=MBID),
                listen("admin", "lastfm", T0 + timedelta(seconds=4)),
                listen(
                    "admin", "subsonic", T0 - timedelta(seconds=2), source_ids={"song_id": "s-1", "client": "Feishin"}
                ),
                unknown,
                ListenUnmatched(user="admin", listen_id=unknown.event_id, reason=ListenUnmatchedReason.NOT_FOUND),
            ],
        )
        admin = await gw.login()
        await admin.put("/api/users/admin/accounts", json={"listenbrainz_user": "adm-lb", "listenbrainz_token": "t"})
        # the page is rendered once: wait until the store has folded the plays and the miss
        await wait_until(
            lambda: admin.get("/api/listens/unmatched"), timeout=30, predicate=lambda r: len(r.json()["items"]) == 1
        )
        await wait_until(lambda: admin.get("/api/listens"), timeout=30, predicate=lambda r: len(r.json()["items"]) == 2)
        await admin.aclose()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            try:
                await page.goto(gw.url + "/login")
                await page.fill("input[name=username]", ADMIN)
                await page.fill("input[name=password]", ADMIN_PASSWORD)
                await page.click("button[type=submit]")
                await expect(page.locator("#counts")).to_be_visible()
                await page.click("nav >> text=History")
                await page.wait_for_url("**/history")
                rows = page.locator("tr[data-play]")
                await expect(rows).to_have_count(2, timeout=20_000)
                merged = rows.filter(has_text="Northern Light")
                await expect(merged.locator(".badge")).to_have_text(
                    ["subsonic", "listenbrainz", "lastfm", "matched"]
                )  # in the order they saw it
                await expect(page.locator("[data-playing-now-text]")).to_contain_text("Tidewater", timeout=20_000)
                await expect(page.locator("text=Not matched yet")).to_be_visible()
                await page.screenshot(path=str(SHOTS / "history.png"), full_page=True)

                await page.select_option("select[name=source]", "subsonic")
                await page.click("form.filters >> text=Filter")
                await expect(rows).to_have_count(1)
                await page.fill("input[name=from]", (T0 + timedelta(hours=12)).date().isoformat())
                await page.select_option("select[name=source]", "")
                await page.click("form.filters >> text=Filter")
                await expect(rows).to_have_count(1)
                await expect(rows.first).to_contain_text("Unknown Demo")

                await page.uncheck("#forwarding-form input[name=lastfm]")
                await page.click("#forwarding-form >> text=Save")
                await expect(page.locator("#toast")).to_contain_text("Saved")
            finally:
                await browser.close()
        check = await gw.login()
        assert (await check.get("/api/me/scrobbling")).json()["lastfm"]["on"] is False
        await check.aclose()
