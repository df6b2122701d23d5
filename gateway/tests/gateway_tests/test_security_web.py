"""What one user or a stranger must not get: script through JSONP, another user's request, health details, framing,
full scans, unsafe path templates, and credentials that outlive a password change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.librarysvc import library_env, library_url, running_library_svc

from .conftest import RunningGateway
from .test_library import scanned_folder

PAYLOADS = [
    "alert(1)//",
    "</script><script>alert(1)</script>",
    "a;alert(1)",
    "cb\u2028alert(1)",
    "cb\u2029x",
    "a.b(1)",
    "1cb",
    "x" * 200,
]


async def _add_user(gw: RunningGateway, name: str, *, admin: bool = False) -> httpx.AsyncClient:
    root = await gw.login()
    made = await root.post("/api/users", json={"username": name, "password": f"{name}-password", "is_admin": admin})
    assert made.status_code == 201, made.text
    await root.aclose()
    return await gw.login(name, f"{name}-password")


def _assert_refused_callback(resp: httpx.Response, payload: str) -> None:
    assert resp.headers["content-type"].startswith("application/xml"), resp.text
    assert 'code="10"' in resp.text, resp.text
    assert payload not in resp.text and "alert" not in resp.text


async def test_jsonp_callbacks_through_the_gateway_to_the_real_library(
    gateway_factory: Callable[..., Any], nats_endpoint: Any, provisioned: Any, tmp_path: Path
) -> None:
    music = tmp_path / "music"
    scanned_folder(music)
    async with running_library_svc(nats_endpoint.url, tmp_path / "library-data", music) as library:
        gw = await gateway_factory(**library_env(library))
        auth = {"u": "admin", "p": gw.app_password()}
        async with httpx.AsyncClient(base_url=gw.url) as c:
            for method in ("ping", "getArtists", "getOpenSubsonicExtensions"):
                for payload in PAYLOADS:
                    resp = await c.get(f"/rest/{method}", params={**auth, "f": "jsonp", "callback": payload})
                    _assert_refused_callback(resp, payload)
                missing = await c.get(f"/rest/{method}", params={**auth, "f": "jsonp"})
                assert 'code="10"' in missing.text and "callback" in missing.text
                good = await c.get(f"/rest/{method}", params={**auth, "f": "jsonp", "callback": "app.got$1"})
                assert good.headers["content-type"] == "application/javascript"
                assert good.text.startswith("app.got$1(") and good.text.endswith(");")
                assert json.loads(good.text[len("app.got$1(") : -2])["subsonic-response"]["status"] == "ok"
            # and on library-svc's own port, which the gateway normally fronts: never script, whoever asks
            direct = httpx.AsyncClient(base_url=library_url(library), headers={"X-Brainstream-User": "admin"})
            async with direct:
                for payload in PAYLOADS:
                    resp = await direct.get("/rest/getArtists", params={"f": "jsonp", "callback": payload})
                    assert "javascript" not in resp.headers.get("content-type", ""), resp.text
                    assert payload not in resp.text and "alert" not in resp.text


async def test_full_scans_are_for_administrators(
    gateway_factory: Callable[..., Any], nats_endpoint: Any, provisioned: Any, tmp_path: Path
) -> None:
    music = tmp_path / "music"
    scanned_folder(music)
    async with running_library_svc(nats_endpoint.url, tmp_path / "library-data", music) as library:
        gw = await gateway_factory(**library_env(library))
        await (await _add_user(gw, "bob")).aclose()
        bob = {"u": "bob", "p": gw.app_password("bob"), "f": "json"}
        admin = {"u": "admin", "p": gw.app_password(), "f": "json"}
        async with httpx.AsyncClient(base_url=gw.url) as c:
            refused = (await c.get("/rest/startScan", params={**bob, "fullScan": "true"})).json()["subsonic-response"]
            assert (refused["status"], refused["error"]["code"]) == ("failed", 50)
            quick = (await c.get("/rest/startScan", params=bob)).json()["subsonic-response"]
            assert quick["status"] == "ok"  # an ordinary scan stays open to everyone
            full = (await c.get("/rest/startScan", params={**admin, "fullScan": "TRUE"})).json()["subsonic-response"]
            assert full["status"] == "ok" and "scanStatus" in full


async def test_a_duplicate_request_does_not_show_another_users_request(gateway: RunningGateway) -> None:
    carol, bob = await _add_user(gateway, "carol"), await _add_user(gateway, "bob")
    admin = await gateway.login()
    try:
        body = {"recording_mbid": "0f42ab32-22cd-4dcf-927b-a8d9a183d68b", "url": "http://127.0.0.1:9/x.mp3?sig=carol"}
        first = await carol.post("/api/requests", json=body)
        assert first.status_code == 202, first.text
        seen_by_bob = await bob.post("/api/requests", json=body)
        assert seen_by_bob.status_code == 409
        assert seen_by_bob.json() == {"detail": "already requested"}
        for secret in ("carol", "sig=", first.json()["request_id"], first.json()["track_id"]):
            assert secret not in seen_by_bob.text
        own = await carol.post("/api/requests", json=body)
        assert own.json()["existing"]["request_id"] == first.json()["request_id"]  # the owner sees their own
        by_admin = await admin.post("/api/requests", json=body)
        assert by_admin.json()["existing"]["user"] == "carol"
    finally:
        for client in (carol, bob, admin):
            await client.aclose()


async def test_health_without_credentials_shows_only_statuses(gateway: RunningGateway) -> None:
    bob = await _add_user(gateway, "bob")
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        public = (await c.get("/api/health")).json()
    assert set(public) == {"status", "services"}
    signed_in = (await bob.get("/api/health")).json()
    assert set(signed_in) == {"status", "services", "degraded"}  # the banner's facts, nothing of the reports
    for shown in (public, signed_in):
        assert shown["services"] and all(set(s) == {"status"} for s in shown["services"].values())
    await bob.aclose()
    admin = await gateway.login()
    full = (await admin.get("/api/health")).json()["services"]["gateway"]
    assert {"pid", "checks", "uptime_s"} <= set(full)
    await admin.aclose()


@pytest.mark.parametrize("path", ["/", "/login", "/static/app.js", "/api/health", "/api/me"])
async def test_security_headers(gateway: RunningGateway, path: str) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        resp = await c.get(path)
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{nosuchfield}/{title}.{ext}", "unknown field {nosuchfield}"),
        ("{albumartist}/{title:>999999999}.{ext}", "width"),
        ("{albumartist}/{track:0999999999999d} {title}.{ext}", "width"),
        ("../{albumartist}/{title}.{ext}", "'..'"),
        ("{albumartist}/../../etc/{title}.{ext}", "'..'"),
        ("/etc/{title}.{ext}", "relative"),
        ("{title.__class__}/{title}.{ext}", "unknown field"),
        ("{albumartist}/{title!r}.{ext}", "convert"),
        ("{albumartist}/{title:{track}}.{ext}", "format"),
        ("{albumartist}/{title", "unbalanced"),
        ("{albumartist}/{title}", "{ext}"),
    ],
)
async def test_bad_path_templates_are_refused_with_the_reason(
    gateway: RunningGateway, template: str, reason: str
) -> None:
    admin = await gateway.login()
    try:
        resp = await admin.put("/api/settings", json={"path_template": template})
        assert resp.status_code == 400, resp.text
        assert reason in resp.text
        assert (await admin.get("/api/settings")).json()["path_template"] is None  # nothing was saved
    finally:
        await admin.aclose()


async def test_a_good_path_template_is_saved_with_a_preview(gateway: RunningGateway) -> None:
    admin = await gateway.login()
    try:
        template = "{albumartist}/{year} - {album}/{track:02}. {title:.40}.{ext}"
        saved = (await admin.put("/api/settings", json={"path_template": template})).json()
        assert saved["path_template"] == template
        assert saved["path_preview"] == "Boards of Canada/1998 - Music Has the Right to Children/07. Roygbiv.flac"
    finally:
        await admin.aclose()


async def test_a_password_change_revokes_tokens_and_the_app_password(gateway: RunningGateway) -> None:
    bob = await _add_user(gateway, "bob")
    token = (await bob.post("/api/me/tokens", json={"name": "script"})).json()["token"]
    old_app_password = gateway.app_password("bob")
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        assert (await c.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
        admin = await gateway.login()
        changed = await admin.patch("/api/users/bob", json={"password": "bob-new-password"})
        assert changed.status_code == 200, changed.text
        await admin.aclose()
        assert (await c.get("/api/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
        assert (await bob.get("/api/me")).status_code == 401  # the session ended too
        ping = {"u": "bob", "p": old_app_password, "f": "json"}
        old = (await c.get("/rest/ping", params=ping)).json()["subsonic-response"]
        assert old["error"]["code"] == 40
        new = gateway.app_password("bob")
        assert new != old_app_password
        assert (await c.get(f"/rest/ping?u=bob&f=json&p={quote(new)}")).json()["subsonic-response"]["status"] == "ok"
    await bob.aclose()


async def test_the_settings_page_shows_why_a_template_is_refused_and_where_a_track_goes(
    gateway: RunningGateway,
) -> None:
    from playwright.async_api import async_playwright, expect

    from .conftest import ADMIN, ADMIN_PASSWORD
    from .test_browser import CHROMIUM, _need_chromium

    _need_chromium()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = await browser.new_page()
        console_errors: list[str] = []
        page.on("pageerror", lambda e: console_errors.append(str(e)))
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        try:
            await page.goto(gateway.url + "/login")
            await page.fill("input[name=username]", ADMIN)
            await page.fill("input[name=password]", ADMIN_PASSWORD)
            await page.click("button[type=submit]")
            await expect(page.locator("#counts")).to_be_visible()
            await page.goto(gateway.url + "/settings")
            await page.fill("input[name=path_template]", "../{nosuchfield}/{title}.{ext}")
            await page.click("#settings-form button[type=submit]")
            await expect(page.locator("#settings-form [data-error]")).to_contain_text("'..'")
            await page.fill("input[name=path_template]", "{albumartist}/{title}.{ext}")
            await page.click("#settings-form button[type=submit]")
            await expect(page.locator("#toast")).to_contain_text("A track goes to Boards of Canada/Roygbiv.flac")
            # the refused save answered 400, which the browser logs; nothing else may have failed
            assert [e for e in console_errors if "400" not in e] == []
        finally:
            await browser.close()
