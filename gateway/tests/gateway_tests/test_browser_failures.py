"""Failures in the browser (Debian's chromium): the banner of a failing upstream, a retrying then failed track with its
reason and Retry button, Retry re-driving the dead letter once the upstream is back, and no console error on any page.

The resolving stage is the real service runtime (retries, dead letters, delivery facts, upstream health) with a
stand-in handler that asks a loopback MusicBrainz through the real `ApiClient`: it answers 503, then recovers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from playwright.async_api import ConsoleMessage, Page, async_playwright, expect

from contracts.common import MatchExplanation, MatchMethod
from contracts.gateway import RequestTrack, RetryTrack
from contracts.ingest import RecommendationRunFailed
from contracts.resolve import TrackResolved
from contracts.topology import ConsumerSpec
from infra.http import ApiClient, HttpSettings
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime
from infra.upstreams import UPSTREAMS
from tests.support.fakeweb import FakeWeb, Reply, Request
from tests.support.wait import wait_until

from .conftest import ADMIN, ADMIN_PASSWORD
from .gateway_fakes import FakeSubsonic, roygbiv
from .test_browser import CHROMIUM, SHOTS, _need_chromium

# resolve's own consumer, with a short budget: three attempts four seconds apart
RESOLVE = ConsumerSpec(
    durable="resolve_requests",
    stream="GATEWAY",
    filter_subjects=["gateway.track.requested", "gateway.track.retry_requested"],
    service="resolve-svc",
    description="test stand-in for resolve-svc",
    max_deliver=3,
    backoff_s=[4.0],
)


async def _log_in(page: Page, url: str) -> None:
    await page.goto(url + "/login")
    await page.fill("input[name=username]", ADMIN)
    await page.fill("input[name=password]", ADMIN_PASSWORD)
    await page.click("button[type=submit]")
    await expect(page.locator("#counts")).to_be_visible()


async def test_failing_upstream_banner_failed_track_and_retry_in_the_browser(
    gateway_factory: Callable[..., Any], fake_library: FakeSubsonic, nats_endpoint: Any, provisioned: Any
) -> None:
    _need_chromium()
    UPSTREAMS.clear()
    down = {"musicbrainz": True}

    def lookup(req: Request) -> Reply:
        if down["musicbrainz"]:
            return Reply.html(503, "<html><h1>503 Service Temporarily Unavailable</h1></html>")
        return Reply(200, json={"id": req.params["mbid"], "title": "Roygbiv"})

    with FakeWeb() as mb:
        mb.route("GET", "/ws/2/recording/{mbid}", lookup)
        client = ApiClient("musicbrainz", mb.base_url, HttpSettings(BRAINSTREAM_HTTP_RETRIES=0))
        settings = RuntimeSettings(
            NATS_URL=nats_endpoint.url, BRAINSTREAM_UPSTREAM_DEGRADED_AFTER=0.5, BRAINSTREAM_FETCH_BATCH=1
        )
        resolver = ServiceRuntime("resolve-svc", "test", settings)

        async def resolve(event: RequestTrack | RetryTrack, delivery: Delivery) -> None:
            mbid = event.query.recording_mbid
            await client.get_json(f"/ws/2/recording/{mbid}", params={"fmt": "json"})
            explanation = MatchExplanation(method=MatchMethod.MBID, distance=0.0)
            assert mbid is not None
            await resolver.publish(
                TrackResolved.caused_by(event, track=roygbiv(mbid), origin="manual", explanation=explanation)
            )

        resolver.consume(RESOLVE.durable, resolve, spec=RESOLVE)
        await resolver.start()
        gateway = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url)
        errors: list[str] = []
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                page = await browser.new_page(viewport={"width": 1100, "height": 900})

                def on_console(msg: ConsoleMessage) -> None:
                    if msg.type == "error":
                        errors.append(f"{page.url}: {msg.text}")

                page.on("console", on_console)
                page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
                try:
                    await _log_in(page, gateway.url)
                    await page.goto(gateway.url + "/request")
                    field = page.locator("input[name=recording_mbid]")
                    await field.fill("not-an-mbid")  # the pattern is a valid expression for Chromium, so it checks
                    assert not await field.evaluate("el => el.checkValidity()")
                    mbid = str(uuid.uuid4())
                    await page.fill("input[name=recording_mbid]", mbid)
                    await page.click("button[type=submit]")
                    await page.wait_for_url("**/tracks/*")
                    track_id = page.url.rsplit("/", 1)[-1]
                    await expect(page.locator("#track-state")).to_have_text("retrying", timeout=15_000)
                    await expect(page.locator("#track-retry")).to_contain_text("resolve: attempt 1 of 3 failed")
                    await expect(page.locator("#track-reason")).to_have_text("MusicBrainz unavailable: HTTP 503")
                    await expect(page.locator("#track-retry-button")).to_be_hidden()

                    # the banner names the upstream and the work waiting on it (it is read when a page loads)
                    async def banner() -> str:
                        await page.goto(gateway.url + "/")
                        el = page.locator("#banner")
                        return (await el.text_content() or "") if await el.is_visible() else ""

                    text = await wait_until(banner, timeout=20, interval=0.3, predicate=lambda t: "waiting" in t)
                    assert text.startswith("MusicBrainz unavailable since ") and text.endswith(", 1 track waiting")
                    await expect(page.locator("#upstreams")).to_contain_text(
                        "MusicBrainz: unavailable since", timeout=10_000
                    )
                    await expect(page.locator("#upstreams")).to_contain_text("(MusicBrainz unavailable: HTTP 503)")
                    await page.screenshot(path=str(SHOTS / "banner.png"), full_page=True)

                    # the budget runs out: failed, with the reason, under Failures and in Tracks
                    await page.goto(f"{gateway.url}/tracks/{track_id}")
                    await expect(page.locator("#track-state")).to_have_text("failed", timeout=30_000)
                    reason = "resolve gave up after 3 attempts: MusicBrainz unavailable: HTTP 503"
                    await expect(page.locator("#track-reason")).to_have_text(reason)
                    await expect(page.locator("#track-retry-button")).to_be_visible()
                    await expect(page.locator("#timeline")).to_contain_text("dead letter #")
                    await page.screenshot(path=str(SHOTS / "track-failed.png"), full_page=True)
                    await page.goto(gateway.url + "/")
                    await expect(page.locator(".failures")).to_contain_text(reason)
                    await expect(page.locator("[data-count=failed]")).to_have_text("1")
                    await page.goto(gateway.url + "/tracks?state=failed")
                    await expect(page.locator("table.tracks")).to_contain_text(reason)

                    # MusicBrainz is back: Retry re-drives the dead letter and the journey goes on
                    down["musicbrainz"] = False
                    await page.goto(f"{gateway.url}/tracks/{track_id}")
                    await page.click("#track-retry-button")
                    await expect(page.locator("#toast")).to_contain_text("dead letter is back on its way")
                    await expect(page.locator("#track-state")).to_have_text("resolved", timeout=20_000)
                    await expect(page.locator("#timeline")).to_contain_text("re-driven")

                    # a run that fails shows in Last runs as it happens, with its reason
                    await page.goto(gateway.url + "/")
                    await expect(page.locator("#live-dot")).to_have_class("live on")
                    no_account = "no ListenBrainz account: add the account under Users"
                    await resolver.publish(
                        RecommendationRunFailed(
                            user=ADMIN, run_id=uuid.uuid4(), trigger="manual", reason="no_account", detail=no_account
                        )
                    )
                    await expect(page.locator("#runs")).to_contain_text(f"failed{no_account}")
                    await expect(page.locator("#feed")).to_contain_text(
                        f"Recommendation run for admin failed: {no_account}"
                    )

                    for path in ("/", "/request", "/tracks", "/library", "/settings", "/users", "/setup"):
                        await page.goto(gateway.url + path)
                        await page.wait_for_load_state("networkidle")
                    await page.goto(gateway.url + "/logout-is-not-a-page")
                    await expect(page.locator("h1")).to_have_text("Not found")
                    errors[:] = [e for e in errors if "/logout-is-not-a-page" not in e]  # the 404 itself
                    assert errors == [], errors
                finally:
                    await browser.close()
        finally:
            await resolver.stop()
            await client.aclose()
            UPSTREAMS.clear()
