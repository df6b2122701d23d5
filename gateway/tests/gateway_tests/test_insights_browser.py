"""The Insights page in Debian's chromium: every chart drawn with the right data and its table beside it, the
facts' summary at once and the LLM's prose when it comes, and a failing LLM's reason shown on a working page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright, expect

from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .conftest import ADMIN, ADMIN_PASSWORD
from .insights_scenario import events
from .test_browser import CHROMIUM, SHOTS, _need_chromium
from .test_history_live import publish_all

RANGE = "/insights?range=custom&from=2026-03-16&to=2026-03-29"


async def _chart(page: Page, name: str) -> Any:
    return await page.evaluate(
        """(name) => { const c = window.insightsCharts[name];
             return c && { type: c.config.type, labels: c.data.labels,
                           sets: c.data.datasets.map((d) => ({ label: d.label, data: d.data })),
                           drawn: c.canvas.width > 0 && c.canvas.height > 0 }; }""",
        name,
    )


async def test_insights_page_in_the_browser(gateway_factory: Any, nats_endpoint: NatsEndpoint, tmp_path: Path) -> None:
    _need_chromium()
    with FakeWeb() as llm:
        prose = "Two weeks with Cold Harbour at the top, and two new artists."
        answer = {"choices": [{"message": {"role": "assistant", "content": prose}}]}
        llm.reply("POST", "/v1/chat/completions", Reply(json=answer, delay_s=1.5))  # the page must not wait for it
        gw = await gateway_factory(
            BRAINSTREAM_TIMEZONE="Europe/Berlin", BRAINSTREAM_LLM_URL=llm.url("/v1"), BRAINSTREAM_LLM_TIMEOUT=5
        )
        await publish_all(nats_endpoint.url, events())
        admin = await gw.login()
        await wait_until(
            lambda: admin.get("/api/insights", params={"range": "custom", "from": "2026-03-16", "to": "2026-03-29"}),
            timeout=40,
            predicate=lambda r: (
                r.json()["totals"]["plays"] == 11
                and r.json()["hit_rate"]["total"]["acquired"] == 3
                and len(r.json()["top_genres"]) == 2
            ),
        )
        await admin.aclose()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = await browser.new_page(viewport={"width": 1200, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                await page.goto(gw.url + "/login")
                await page.fill("input[name=username]", ADMIN)
                await page.fill("input[name=password]", ADMIN_PASSWORD)
                await page.click("button[type=submit]")
                await expect(page.locator("#counts")).to_be_visible()
                await page.click("nav >> text=Insights")
                await page.wait_for_url("**/insights")
                await page.goto(gw.url + RANGE)
                await expect(page.locator("body[data-insights-ready='1']")).to_have_count(1, timeout=20_000)
                await expect(page.locator("#insights-bounds")).to_contain_text(
                    "2026-03-16T00:00:00+01:00 to 2026-03-30T00:00:00+02:00"
                )
                # the facts' summary is there before the prose
                await expect(page.locator("#summary-facts")).to_contain_text("11 plays")
                await expect(page.locator("#summary-state")).to_contain_text("on its way")

                artists = await _chart(page, "artists")
                assert artists["type"] == "bar" and artists["drawn"]
                assert artists["labels"] == ["Cold Harbour", "Tidewell", "Night Ferry"]
                assert artists["sets"][0]["data"] == [8, 2, 1]
                await expect(page.locator("#table-artists tbody tr").first).to_contain_text("Cold Harbour8")

                trend = await _chart(page, "trend")
                assert trend["type"] == "line" and trend["drawn"]
                assert trend["labels"][0] == "2026-03-16" and len(trend["labels"]) == 14
                assert trend["sets"][0]["data"] == [0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2]
                assert trend["sets"][1]["label"] == "previous period"

                clock = await _chart(page, "clock")
                assert clock["type"] == "matrix" and clock["drawn"]
                cells = {(c["y"], c["x"]): c["v"] for c in clock["sets"][0]["data"]}
                assert len(cells) == 7 * 24 and sum(cells.values()) == 11
                assert cells[(5, 3)] == 1 and cells[(6, 3)] == 1  # 03h Saturday (CET) and Sunday (CEST)
                await expect(page.locator("#table-clock tbody tr").nth(6)).to_contain_text("Sun")

                hits = await _chart(page, "hits")
                assert hits["type"] == "bar" and hits["drawn"]
                assert hits["labels"] == ["CF", "LB Radio", "manual request"]
                by_label = {s["label"]: s["data"] for s in hits["sets"]}
                assert by_label["acquired"] == [2, 1, 0]
                assert by_label["played within 7 days"] == [1, 0, 0]
                assert by_label["played 3+ times within 30 days"] == [1, 0, 0]
                await expect(page.locator("#table-hits tbody tr").first).to_contain_text("CF21111")
                # the library's genres of the played recordings: CF1 (Ambient, Dream Pop) 5 plays, RADIO1 (Ambient) 1
                genres = page.locator("#table-genres tbody tr")
                await expect(genres).to_have_count(2)
                await expect(genres.nth(0)).to_have_text("Ambient60.3")
                await expect(genres.nth(1)).to_have_text("Dream Pop50.3")

                await expect(page.locator("#summary-prose")).to_have_text(prose, timeout=20_000)
                await page.screenshot(path=str(SHOTS / "insights.png"), full_page=True)

                # a rate-limited LLM: the reason shows, the charts stay
                llm.reply("POST", "/v1/chat/completions", Reply(429, json={"error": "slow down"}))
                await page.click("#summary-again")
                await expect(page.locator("#summary-state")).to_contain_text("rate-limiting", timeout=20_000)
                assert (await _chart(page, "artists"))["sets"][0]["data"] == [8, 2, 1]
                await page.screenshot(path=str(SHOTS / "insights-llm-failed.png"))
                assert errors == []
            finally:
                await browser.close()
