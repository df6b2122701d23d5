"""The Discoveries page in Debian's chromium: two weeks of picks with their covers, why each was picked, whether it
was played and when it expires; a preview plays in the page; Keep and Hate send their commands, Restore brings a
pick back from the trash, and the artist exclusion list is saved. The screenshot goes to docs/screenshots/."""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import nats
from playwright.async_api import Page, async_playwright, expect

from contracts.discovery import DiscoveryRestored, HateDiscovery, KeepDiscovery, RestoreDiscovery
from tests.support.audio import make_audio
from tests.support.fakeweb import Reply, Request
from tests.support.wait import wait_until

from .conftest import ADMIN, ADMIN_PASSWORD
from .discoveries_scenario import scenario
from .gateway_fakes import FakeSubsonic
from .test_browser import CHROMIUM, SHOTS, _need_chromium
from .test_history_live import publish_all


def _cover(seed: str, size: int = 96) -> bytes:
    """A PNG of two colours of its own per track, so each pick shows a cover of its own."""
    h = hashlib.sha256(seed.encode()).digest()
    a, b = h[:3], h[3:6]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\0" + b"".join(bytes(a if (x // 24 + y // 24) % 2 else b) for x in range(size)) for y in range(size)
    )
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def _until_playing(page: Page) -> None:
    # polled from here: a page-side `wait_for_function` evaluates a string, which the UI's CSP (no eval) forbids
    audio = page.locator("#discovery-audio")
    for _ in range(200):
        if await audio.evaluate("a => a.src.includes('/api/library/stream/tr-orchard') && a.currentTime > 0"):
            return
        await page.wait_for_timeout(100)
    raise AssertionError("the preview's <audio> never started playing the pick's stream")


async def test_discoveries_page_in_the_browser(
    gateway_factory: Any, fake_library: FakeSubsonic, nats_endpoint: Any, tmp_path: Path
) -> None:
    _need_chromium()
    tone = make_audio(tmp_path / "tone.mp3", "mp3", 3.0, freq=330.0).read_bytes()
    fake_library.web.route(
        "GET", "/rest/getCoverArt", lambda r: Reply.raw(_cover(r.query["id"][0]), content_type="image/png")
    )

    def stream(req: Request) -> Reply:
        return Reply(200, body=tone, content_type="audio/mpeg", headers={"Accept-Ranges": "none"})

    fake_library.web.route("GET", "/rest/stream", stream)
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url)
    sc = scenario()
    await publish_all(nats_endpoint.url, sc.events)
    admin = await gw.login()
    await wait_until(
        lambda: admin.get("/api/discoveries"),
        timeout=30,
        predicate=lambda r: r.json()["paused"] is not None and len(r.json()["trash"]) == 2,
    )
    await admin.aclose()
    nc = await nats.connect(nats_endpoint.url)
    commands = await nc.subscribe("gateway.discovery.>")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        page = await browser.new_page(viewport={"width": 1100, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        page.on("dialog", lambda d: d.accept())
        try:
            await page.goto(gw.url + "/login")
            await page.fill("input[name=username]", ADMIN)
            await page.fill("input[name=password]", ADMIN_PASSWORD)
            await page.click("button[type=submit]")
            await expect(page.locator("#counts")).to_be_visible()
            await page.click("nav >> text=Discoveries")
            await page.wait_for_url("**/discoveries")
            await expect(page.locator("body[data-discoveries-ready='1']")).to_have_count(1, timeout=20_000)

            weeks = page.locator(".discovery-week")
            await expect(weeks).to_have_count(2)
            await expect(weeks.nth(0).locator("h2")).to_have_text(f"This week {sc.this_week}")
            await expect(weeks.nth(1).locator("h2")).to_have_text(f"Week {sc.last_week}")
            this_week = weeks.nth(0).locator("li.discovery")
            await expect(this_week.locator(".discovery-body b")).to_have_text(
                ["Copper Sky", "Northbound", "Static Bloom", "Undertow"]
            )
            orchard = page.locator(f".discovery-week[data-week='{sc.this_week}'] li[data-track-id='tr-orchard']")
            await expect(orchard).to_contain_text("ListenBrainz recommendations (CF)")
            await expect(orchard).to_contain_text("played 1 time")
            await expect(orchard.locator(".expiry")).to_have_text("expires in 21 days unless kept")
            marrow = page.locator(f".discovery-week[data-week='{sc.this_week}'] li[data-track-id='tr-marrow']")
            await expect(marrow).to_contain_text("ListenBrainz playlists")
            await expect(marrow).to_contain_text("not played yet")
            last = page.locator(f".discovery-week[data-week='{sc.last_week}']")
            await expect(last.locator("li[data-track-id='tr-harbour'] .expiry")).to_have_text("kept: played 1 time")
            await expect(last.locator("li[data-track-id='tr-ferry']")).to_contain_text("LB Radio")
            await expect(last.locator("li[data-track-id='tr-ferry'] .expiry")).to_contain_text("in the trash")
            await expect(last.locator("li[data-track-id='tr-tidewell'] .expiry")).to_contain_text(
                "gone: the trash was emptied of it"
            )
            await expect(page.locator("#discoveries-paused")).to_contain_text("Recommendation runs are paused")
            await expect(page.locator("#discoveries-rules")).to_contain_text("expires after 21d")
            trash = page.locator("#discovery-trash li.discovery")
            await expect(trash).to_have_count(2)
            await expect(page.locator("#discovery-trash li[data-track-id='tr-ferry']")).to_contain_text(
                "emptied in 5 days"
            )
            # every cover is a real image from the library
            covers = page.locator("li.discovery img.cover")
            for i in range(await covers.count()):
                assert await covers.nth(i).evaluate("img => img.complete && img.naturalWidth === 96")
            await page.screenshot(path=str(SHOTS / "discoveries.png"), full_page=True)

            # preview: the pick plays in the page, from the library's stream
            await orchard.get_by_role("button", name="Preview Copper Sky by Pale Orchard").click()
            await _until_playing(page)
            await expect(page.locator("#discovery-preview-title")).to_have_text("Copper Sky")

            # Keep and Hate: commands with the user, the button says so until the state changes
            await orchard.get_by_role("button", name="Keep Copper Sky by Pale Orchard").click()
            await expect(orchard.get_by_role("button", name="Keep Copper Sky by Pale Orchard")).to_be_disabled()
            await marrow.get_by_role("button", name="Hate Northbound by Marrow Lights").click()
            got = [await commands.next_msg(timeout=10) for _ in range(2)]
            assert [(m.subject, json.loads(m.data)["track_id"], json.loads(m.data)["user"]) for m in got] == [
                (KeepDiscovery.subject, "tr-orchard", ADMIN),
                (HateDiscovery.subject, "tr-marrow", ADMIN),
            ]

            # Restore from the trash, then library-svc's answer moves it out of the trash on the page
            await page.locator("#discovery-trash").get_by_role("button", name="Restore Lanterns by Night Ferry").click()
            restore = await commands.next_msg(timeout=10)
            assert restore.subject == RestoreDiscovery.subject and json.loads(restore.data)["track_id"] == "tr-ferry"
            await publish_all(
                nats_endpoint.url,
                [
                    DiscoveryRestored(
                        user=ADMIN, track_id="tr-ferry", recording_mbid=sc.mbids["tr-ferry"], path="Night Ferry/x.flac"
                    )
                ],
            )
            await expect(page.locator("#discovery-trash li[data-track-id='tr-ferry']")).to_have_count(0)
            await expect(last.locator("li[data-track-id='tr-ferry'] .expiry")).to_have_text(
                "restored from the trash: kept"
            )

            # the exclusion list: a blank line is dropped, a too-long name is refused with the reason, then saved
            box = page.locator("#excluded-artists")
            await box.fill("Vesper Lane\n" + "x" * 201)
            await page.get_by_role("button", name="Save the list").click()
            await expect(page.locator("#excluded-form [data-error]")).to_contain_text("at most 200 characters")
            await box.fill("Vesper Lane\n\n  Glass Arcade  \nvesper lane")
            await page.get_by_role("button", name="Save the list").click()
            await expect(box).to_have_value("Vesper Lane\nGlass Arcade")
            excluded = await commands.next_msg(timeout=10)
            assert json.loads(excluded.data)["artists"] == ["Vesper Lane", "Glass Arcade"]
            await page.reload()
            await expect(page.locator("#excluded-artists")).to_have_value("Vesper Lane\nGlass Arcade")
            assert errors == []
            # the refused list is the one failed request (a blocked script or style would show here too)
            assert console == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
        finally:
            await browser.close()
            await nc.close()
