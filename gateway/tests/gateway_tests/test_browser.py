"""The web UI in Debian's chromium: log in, request a track, watch it move through the stages over SSE, find it in
the library (real library-svc behind the gateway, beside a file its folder scan found). Screenshots go to
$BRAINSTREAM_SCREENSHOTS_DIR (`make screenshots` sets it to docs/screenshots/), or to a temporary folder, so a test
run leaves the work tree as it was.

Chromium comes from the system (`apt-get install -y chromium`); never downloaded by Playwright.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import async_playwright, expect

from contracts.acquire import TrackValidated
from contracts.common import MatchExplanation, MatchMethod
from contracts.gateway import RequestTrack
from contracts.resolve import TrackResolved
from library_svc.settings import DEFAULT_PATH_TEMPLATE
from tests.support.librarysvc import library_url, running_library_svc, tagged_event

from .conftest import ADMIN, ADMIN_PASSWORD
from .gateway_fakes import roygbiv
from .test_api import publish
from .test_library import scanned_folder

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("BRAINSTREAM_SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "brainstream-screenshots")


def _need_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (the browser test needs it)")
    SHOTS.mkdir(parents=True, exist_ok=True)


async def test_request_moves_through_stages_in_the_browser(
    gateway_factory: Callable[..., Any], nats_endpoint: Any, provisioned: Any, tmp_path: Path
) -> None:
    _need_chromium()
    music = tmp_path / "music"
    scanned_folder(music)
    async with (
        running_library_svc(nats_endpoint.url, tmp_path / "library-data", music) as library,
        async_playwright() as pw,
    ):
        gateway = await gateway_factory(
            BRAINSTREAM_LIBRARY_API_URL=library_url(library),
            BRAINSTREAM_LIBRARY_API_SECRET=library.settings.api_secret,  # as `brainstream up` shares it
        )
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = await browser.new_page(viewport={"width": 420, "height": 900})  # a phone
        # a script or style the Content-Security-Policy blocks, or a script error, shows up here
        console_errors: list[str] = []
        page.on("console", lambda m: console_errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        try:
            await page.goto(gateway.url + "/")
            await expect(page).to_have_url(gateway.url + "/login")
            await page.fill("input[name=username]", ADMIN)
            await page.fill("input[name=password]", ADMIN_PASSWORD)
            await page.screenshot(path=str(SHOTS / "login.png"))
            await page.click("button[type=submit]")
            await expect(page.locator("#counts")).to_be_visible()
            await page.screenshot(path=str(SHOTS / "dashboard-empty.png"))

            await page.goto(gateway.url + "/request")
            await page.fill("input[name=artist]", "Boards of Canada")
            await page.fill("input[name=title]", "Roygbiv")
            await page.screenshot(path=str(SHOTS / "request.png"))
            await page.click("button[type=submit]")
            await page.wait_for_url("**/tracks/*")
            track_id = page.url.rsplit("/", 1)[-1]
            await expect(page.locator("#track-state")).to_have_text("requested", timeout=10_000)

            request = await _request_of(gateway, track_id)
            mbid = uuid.uuid4()
            meta = roygbiv(mbid, year=1998)
            resolved = TrackResolved.caused_by(
                request,
                track=meta,
                origin="manual",
                explanation=MatchExplanation(method=MatchMethod.FUZZY, distance=0.04),
            )
            await publish(nats_endpoint.url, resolved)
            await expect(page.locator("#track-state")).to_have_text("resolved", timeout=10_000)
            validated = TrackValidated.caused_by(
                resolved,
                recording_mbid=mbid,
                backend="fake",
                candidate_id="c1",
                codec="mp3",
                bitrate_kbps=320,
                duration_ms=151_000,
            )
            # a real file, tagged: library-svc moves it into the library and announces the import itself
            tagged = tagged_event(tmp_path / "staging", validated, meta)
            await publish(nats_endpoint.url, validated, tagged)
            await expect(page.locator("#track-state")).to_have_text("imported", timeout=20_000)
            await expect(page.locator("#timeline li")).to_have_count(5)
            await expect(page.locator("#track-title")).to_have_text("Roygbiv")
            await page.screenshot(path=str(SHOTS / "track.png"), full_page=True)
            await page.reload()  # the link to the library is drawn with the page, once the track is in it
            await page.click("text=Find it in the library")
            await expect(page.locator(".library-tracks a.pipeline")).to_have_attribute("href", f"/tracks/{track_id}")

            # the library: the import and the scanned collection side by side
            await page.goto(gateway.url + "/library")
            await expect(page.locator(".album h3")).to_have_text(["Music Has the Right to Children", "Tender Buttons"])
            await page.screenshot(path=str(SHOTS / "library.png"), full_page=True)
            await page.click("text=Tender Buttons")
            await expect(page.locator(".library-tracks td").nth(1)).to_contain_text("Black Cat")
            await expect(page.locator(".library-tracks a.pipeline")).to_have_count(0)  # not the pipeline's
            await page.screenshot(path=str(SHOTS / "library-album-scanned.png"), full_page=True)
            await page.fill("input[name=q]", "roygbiv")
            await page.click(".subnav button")
            pipeline = page.locator(".library-tracks a.pipeline")
            await expect(pipeline).to_have_attribute("href", f"/tracks/{track_id}")
            await page.screenshot(path=str(SHOTS / "library-search.png"), full_page=True)
            await pipeline.click()
            await expect(page).to_have_url(f"{gateway.url}/tracks/{track_id}")

            await page.goto(gateway.url + "/")
            await expect(page.locator("[data-count=imported]")).to_have_text("1")
            await page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

            await page.goto(gateway.url + "/users")
            await page.click("details summary")
            await page.fill(".accounts-form input[name=listenbrainz_user]", "admin_lb")
            await page.fill(".accounts-form input[name=navidrome_user]", "admin-nd")
            await page.fill(".accounts-form input[name=navidrome_password]", "nd-password")
            await page.click(".accounts-form button[type=submit]")
            await expect(page.locator("#toast")).to_contain_text("Accounts saved")
            await expect(page.locator(f"[data-accounts-of={ADMIN}]")).to_contain_text("LB: admin_lb")  # no reload
            await expect(page.locator(f"[data-accounts-of={ADMIN}]")).to_contain_text("Navidrome: admin-nd")
            sealed = gateway.state.users.accounts(ADMIN).navidrome_password_sealed
            assert sealed and "nd-password" not in sealed  # kept sealed with the gateway's key
            await page.screenshot(path=str(SHOTS / "users.png"), full_page=True)
            await page.goto(gateway.url + "/settings")
            await page.click("[data-action=show-password]")
            await expect(page.locator("#subsonic-password")).to_have_text(gateway.app_password())
            await expect(page.locator("#subsonic-url")).to_have_text(gateway.url)
            # the values in force, from the services themselves (here library-svc's default layout), not blanks
            await expect(page.locator("input[name=path_template]")).to_have_value(DEFAULT_PATH_TEMPLATE)
            await page.screenshot(path=str(SHOTS / "settings.png"), full_page=True)
            assert console_errors == []
        finally:
            await browser.close()


async def _request_of(gateway: Any, track_id: str) -> RequestTrack:
    client = await gateway.login()
    track = (await client.get(f"/api/tracks/{track_id}")).json()
    await client.aclose()
    return RequestTrack(
        correlation_id=uuid.UUID(track["id"]), request_id=uuid.uuid4(), query={"artist": track["artist"]}, user=ADMIN
    )
