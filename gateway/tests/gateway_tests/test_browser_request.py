"""Request by choosing, in Debian's chromium: type artist and title, see MusicBrainz candidates with release, year
and length, pick one, and the request carries that recording. resolve-svc's side of `lookup.recordings` is played by
a responder on the real nats-server (resolve-svc's own tests cover its search); the gateway, NATS and the page are
real."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import nats
from playwright.async_api import async_playwright, expect

from contracts.lookup import LOOKUP_QUEUE, LOOKUP_SUBJECT, RecordingCandidate, RecordingCandidates, SearchRecordings
from tests.support.wait import wait_until

from .conftest import ADMIN, ADMIN_PASSWORD
from .test_browser import CHROMIUM, SHOTS, _need_chromium

STUDIO, LIVE = uuid.uuid4(), uuid.uuid4()


async def test_choose_a_candidate_and_request_it(
    gateway_factory: Callable[..., Any], nats_endpoint: Any, provisioned: Any
) -> None:
    _need_chromium()
    asked: list[SearchRecordings] = []
    nc = await nats.connect(nats_endpoint.url)

    async def answer(msg: Any) -> None:
        ask = SearchRecordings.model_validate_json(msg.data)
        asked.append(ask)
        found = RecordingCandidates(
            candidates=[
                RecordingCandidate(
                    recording_mbid=STUDIO,
                    title="Bohemian Rhapsody",
                    artist="Queen",
                    length_ms=354_000,
                    release="A Night at the Opera",
                    year=1975,
                    distance=0.0,
                ),
                RecordingCandidate(
                    recording_mbid=LIVE,
                    title="Bohemian Rhapsody",
                    artist="Queen",
                    length_ms=359_000,
                    disambiguation="live, 1986-07-12: Wembley Stadium",
                    release="Live at Wembley '86",
                    year=1992,
                    distance=0.3,
                ),
            ]
        )
        await msg.respond(found.model_dump_json().encode())

    await nc.subscribe(LOOKUP_SUBJECT, queue=LOOKUP_QUEUE, cb=answer)
    gateway = await gateway_factory()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
            page = await browser.new_page(viewport={"width": 420, "height": 900})
            try:
                await page.goto(gateway.url + "/login")
                await page.fill("input[name=username]", ADMIN)
                await page.fill("input[name=password]", ADMIN_PASSWORD)
                await page.click("button[type=submit]")
                await expect(page.locator("#counts")).to_be_visible()
                await page.goto(gateway.url + "/request")
                await page.click("#find-candidates")
                await expect(page.locator("#candidates-status")).to_have_text("Type an artist and a title first.")
                await page.fill("input[name=artist]", "Queen")
                await page.fill("input[name=title]", "Bohemian Rhapsody")
                await page.click("#find-candidates")
                rows = page.locator("#candidates li")
                await expect(rows).to_have_count(2)
                await expect(rows.nth(0)).to_contain_text("A Night at the Opera · 1975 · 5:54")
                await expect(rows.nth(1)).to_contain_text("Live at Wembley '86 · 1992 · 5:59")
                await page.screenshot(path=str(SHOTS / "request-candidates.png"), full_page=True)
                await rows.nth(1).locator("button").click()  # the live one: the person decides
                await page.wait_for_url("**/tracks/*")
                track_id = page.url.rsplit("/", 1)[-1]
            finally:
                await browser.close()
        assert [(a.artist, a.title) for a in asked] == [("Queen", "Bohemian Rhapsody")]
        client = await gateway.login()
        try:
            # the request reaches the read model through NATS: a bounded wait
            track = await wait_until(
                lambda: client.get(f"/api/tracks/{track_id}"), predicate=lambda r: r.status_code == 200, timeout=30
            )
            assert track.json()["recording_mbid"] == str(LIVE)
            blank = await client.get("/api/requests/candidates", params={"artist": " ", "title": "x"})
            assert blank.status_code == 400
        finally:
            await client.aclose()
    finally:
        await nc.close()


async def test_candidates_without_resolve_svc_is_a_503(gateway_factory: Callable[..., Any], provisioned: Any) -> None:
    gateway = await gateway_factory()
    client = await gateway.login()
    try:
        resp = await client.get("/api/requests/candidates", params={"artist": "Queen", "title": "Innuendo"})
        assert resp.status_code == 503 and "resolve-svc" in resp.json()["detail"]
    finally:
        await client.aclose()
