"""The library page in Debian's chromium, with real library-svc behind the gateway: sort and filter the albums, see
the totals, play an album through `stream` (the <audio> element really advances), go to the next track, and star and
rate what clients then see."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from mutagen.mp3 import MP3
from playwright.async_api import async_playwright, expect

from infra.internal import INTERNAL_HEADER
from tests.support.audio import make_audio
from tests.support.librarysvc import library_env, library_url, running_library_svc

from .conftest import ADMIN, ADMIN_PASSWORD
from .test_browser import CHROMIUM, SHOTS, _need_chromium

ALBUMS = [  # (artist, album, year, genre, titles)
    ("Broadcast", "Tender Buttons", 2005, "Electronic", ["Black Cat", "Tears in the Typing Pool"]),
    ("Stereolab", "Dots and Loops", 1997, "Electronic", ["Brakhage"]),
    ("Low", "Things We Lost in the Fire", 2001, "Slowcore", ["Sunflower"]),
]


def _collection(music: Path) -> None:
    for artist, album, year, genre, titles in ALBUMS:
        for n, title in enumerate(titles, 1):
            make_audio(
                music / artist / album / f"{n:02} {title}.mp3",
                "mp3",
                4.0,
                freq=200.0 + 40 * n,
                tags={
                    "title": title,
                    "artist": artist,
                    "albumartist": artist,
                    "album": album,
                    "tracknumber": str(n),
                    "date": str(year),
                    "genre": genre,
                },
            )


async def _rest(library: Any, method: str, **params: Any) -> dict[str, Any]:
    # library-svc runs in this test's event loop: a blocking call would wait on itself
    headers = {"X-Brainstream-User": ADMIN, INTERNAL_HEADER: library.settings.api_secret}
    async with httpx.AsyncClient(base_url=library_url(library), headers=headers) as c:
        resp = await c.get(f"/rest/{method}", params={"f": "json", **params})
    body: dict[str, Any] = resp.json()["subsonic-response"]
    return body


async def _until_playing(page: Any) -> None:
    # polled from here: a page-side `wait_for_function` evaluates a string, which the UI's CSP (no eval) forbids
    audio = page.locator("#player-audio")
    for _ in range(200):
        if await audio.evaluate("a => a.src.includes('/api/library/stream/') && a.currentTime > 0"):
            return
        await page.wait_for_timeout(100)
    raise AssertionError("the player's <audio> never started playing a library stream")


async def test_play_sort_filter_star_and_rate(
    gateway_factory: Callable[..., Any], nats_endpoint: Any, provisioned: Any, tmp_path: Path
) -> None:
    _need_chromium()
    music = tmp_path / "music"
    _collection(music)
    async with (
        running_library_svc(nats_endpoint.url, tmp_path / "library-data", music) as library,
        async_playwright() as pw,
    ):
        gateway = await gateway_factory(**library_env(library))
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        )
        page = await browser.new_page(viewport={"width": 900, "height": 1000})
        try:
            await page.goto(gateway.url + "/login")
            await page.fill("input[name=username]", ADMIN)
            await page.fill("input[name=password]", ADMIN_PASSWORD)
            await page.click("button[type=submit]")
            await expect(page.locator("#counts")).to_be_visible()

            await page.goto(gateway.url + "/library")
            await expect(page.locator("#library-totals")).to_have_text("3 artists · 3 albums · 4 tracks")
            names = page.locator(".album h3")
            await expect(names).to_have_text(["Dots and Loops", "Tender Buttons", "Things We Lost in the Fire"])
            await page.select_option("select[name=order]", "year")
            await page.click(".library-filters button")
            await expect(names).to_have_text(["Dots and Loops", "Things We Lost in the Fire", "Tender Buttons"])
            await page.select_option("select[name=order]", "artist")
            await page.click(".library-filters button")
            await expect(names).to_have_text(["Tender Buttons", "Things We Lost in the Fire", "Dots and Loops"])
            await page.select_option("select[name=genre]", "Electronic")
            await page.click(".library-filters button")
            await expect(names).to_have_text(["Dots and Loops", "Tender Buttons"])
            await expect(page.locator("#library-totals")).to_contain_text("2 albums, 3 tracks in Electronic")
            await page.select_option("select[name=genre]", "")
            await page.fill("input[name=year]", "2001")
            await page.click(".library-filters button")
            await expect(names).to_have_text(["Things We Lost in the Fire"])
            await expect(page.locator("#library-totals")).to_contain_text("1 album from 2001")
            await page.screenshot(path=str(SHOTS / "library-filtered.png"), full_page=True)
            # the same for scripts
            api = await gateway.login()
            try:
                by_year = (await api.get("/api/library/albums", params={"order": "year"})).json()["items"]
                assert [a["year"] for a in by_year] == [1997, 2001, 2005]
                slowcore = (await api.get("/api/library/albums", params={"genre": "Slowcore"})).json()["items"]
                assert [a["name"] for a in slowcore] == ["Things We Lost in the Fire"]
                totals = (await api.get("/api/library/totals")).json()
                assert (totals["artists"], totals["albums"], totals["tracks"]) == (3, 3, 4)
                assert {g["name"]: g["song_count"] for g in totals["genres"]} == {"Electronic": 3, "Slowcore": 1}
            finally:
                await api.aclose()

            await page.goto(gateway.url + "/library")
            await page.click("text=Tender Buttons")
            await page.click("[data-play-all]")
            await expect(page.locator("#player")).to_be_visible()
            await expect(page.locator("#player-title")).to_have_text("Black Cat · Broadcast")
            await _until_playing(page)
            await expect(page.locator("#player-position")).not_to_have_text("0:00 / 0:00", timeout=10_000)
            await expect(page.locator("#player-queue li")).to_have_count(2)
            await page.click("[data-player=next]")
            await expect(page.locator("#player-title")).to_have_text("Tears in the Typing Pool · Broadcast")
            await expect(page.locator("#player-queue li.now")).to_have_text("Tears in the Typing Pool · Broadcast")
            await _until_playing(page)
            await page.screenshot(path=str(SHOTS / "library-player.png"), full_page=True)
            # played past half: a listen for this user, as a client's scrobble gives (library-svc counts the play)
            second = await page.locator("tr[data-library-track]").nth(1).get_attribute("data-library-track")
            for _ in range(300):
                played = (await _rest(library, "getSong", id=second))["song"]
                if played.get("playCount") == 1:
                    break
                await page.wait_for_timeout(50)
            assert played.get("playCount") == 1, played

            # stars and ratings: the same ones a Subsonic client of this user sees
            row = page.locator("tr[data-library-track]").first
            song_id = await row.get_attribute("data-library-track")
            await row.locator("[data-star]").click()
            await expect(row.locator("[data-star]")).to_have_attribute("aria-pressed", "true")
            await row.locator("[data-rate]").select_option("4")
            album_star = page.locator(".library-album [data-star]")
            await album_star.click()
            await expect(album_star).to_have_attribute("aria-pressed", "true")
            for _ in range(100):
                song = (await _rest(library, "getSong", id=song_id))["song"]
                if song.get("userRating") == 4:
                    break
                await page.wait_for_timeout(50)
            assert song.get("starred") and song.get("userRating") == 4
            starred = (await _rest(library, "getStarred2"))["starred2"]
            assert [a["name"] for a in starred["album"]] == ["Tender Buttons"]
            await page.reload()
            await expect(page.locator("tr[data-library-track]").first.locator("[data-star]")).to_have_text("★")
            await expect(page.locator("tr[data-library-track]").first.locator("[data-rate]")).to_have_value("4")

            # stream defaults per client, set live in Settings: a client named Tiny now gets MP3 at 32 kbps
            await page.goto(gateway.url + "/settings")
            await page.fill("textarea[name=stream_defaults]", "* Tiny mp3 32\nann * opus 96")
            await page.click("#settings-form button[type=submit]")
            await expect(page.locator("#toast")).to_contain_text("Saved")
            await page.reload()
            await expect(page.locator("textarea[name=stream_defaults]")).to_have_value("* Tiny mp3 32\nann * opus 96\n")
            auth = {"u": ADMIN, "p": gateway.app_password(), "c": "Tiny", "id": song_id}
            async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as c:
                for _ in range(200):  # the setting reaches library-svc through the settings bucket
                    tiny = await c.get("/rest/stream", params=auth)
                    if (
                        tiny.headers["content-type"] == "audio/mpeg"
                        and MP3(io.BytesIO(tiny.content)).info.bitrate <= 32_000
                    ):
                        break
                    await page.wait_for_timeout(50)
            assert MP3(io.BytesIO(tiny.content)).info.bitrate <= 32_000
        finally:
            await browser.close()
