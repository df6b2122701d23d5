"""Hostile bodies on every JSON route: wrong type, invalid UTF-8, deep nesting. Each gets a 4xx with a reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.api.jsonguard import MAX_DEPTH, body_problem

# every route that takes a JSON body, with a path that exists
JSON_ROUTES = [
    ("POST", "/api/login"),
    ("POST", "/api/setup"),
    ("POST", "/api/me/tokens"),
    ("POST", "/api/users"),
    ("PATCH", "/api/users/admin"),
    ("PUT", "/api/users/admin/accounts"),
    ("PUT", "/api/settings"),
    ("POST", "/api/requests"),
    ("POST", "/api/runs"),
    ("POST", "/api/tracks/some-track/retry"),
]

BAD_UTF8 = b'{"username":"\xff\xfe","password":"x"}'
DEEP = b"[" * 100_000


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b'{"a": [1, {"b": "[[[["}]}', None),
        ("application/json; charset=utf-8", b"{}", None),
        ("application/json", b"", None),
        ("text/plain", b'{"username":"admin","password":"x"}', 415),
        ("application/x-www-form-urlencoded", b"username=admin", 415),
        ("", b"{}", 415),
        ("application/json", BAD_UTF8, 400),
        ("application/json", DEEP, 400),
        ("application/json", b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), 400),
    ],
)
def test_body_rules(content_type: str, body: bytes, status: int | None) -> None:
    problem = body_problem(content_type, body)
    assert (problem[0] if problem else None) == status


async def test_every_json_route_answers_bad_bodies_with_a_4xx_and_a_reason(gateway: Any) -> None:
    client = await gateway.login()
    try:
        for method, path in JSON_ROUTES:
            for body, content_type, status in (
                (BAD_UTF8, "application/json", 400),
                (DEEP, "application/json", 400),
                (b'{"username": "x", "password": "y"}', "text/plain", 415),
            ):
                resp = await client.request(method, path, content=body, headers={"Content-Type": content_type})
                assert resp.status_code == status, f"{method} {path} {content_type}: {resp.status_code} {resp.text}"
                assert resp.json()["detail"], resp.text
    finally:
        await client.aclose()


async def test_login_and_setup_refuse_text_plain_as_a_cross_site_form_would_send(gateway_factory: Any) -> None:
    fresh = await gateway_factory(BRAINSTREAM_ADMIN_USER=None, BRAINSTREAM_ADMIN_PASSWORD=None)
    body = b'{"username": "mallory", "password": "mallory-password"}'
    async with httpx.AsyncClient(base_url=fresh.url) as c:
        setup = await c.post("/api/setup", content=body, headers={"Content-Type": "text/plain"})
        assert setup.status_code == 415 and "application/json" in setup.json()["detail"]
        assert fresh.state.users.count() == 0  # no administrator was made
        login = await c.post("/api/login", content=body, headers={"Content-Type": "text/plain;charset=UTF-8"})
        assert login.status_code == 415 and "bs_session" not in login.cookies
        made = await c.post("/api/setup", json={"username": "owner", "password": "owner-password"})
        assert made.status_code == 201, made.text
