"""/rest through the gateway: a real Subsonic client library, every auth error, both upstreams."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import nats
from libopensonic import AsyncConnection

from contracts.gateway import ScrobbleSubmitted
from gateway.auth.limiter import Guess, GuessLimiter
from infra.internal import library_api_secret

from .gateway_fakes import AUDIO, FakeSubsonic


def _conn(gw: Any, **auth: Any) -> AsyncConnection:
    host, port = gw.url.rsplit(":", 1)
    return AsyncConnection(host, port=int(port), server_path="rest", **auth)


async def test_client_library_through_gateway_to_library_api(gateway: Any, fake_library: FakeSubsonic) -> None:
    for auth in (
        {"username": "admin", "password": gateway.app_password()},
        {"username": "admin", "password": gateway.app_password(), "legacy_auth": True},
        {"api_key": gateway.app_password()},
    ):
        conn = _conn(gateway, **auth)
        try:
            assert await conn.ping()
            artists = await conn.get_artists()
            assert artists.index[0].artist[0].name == "Boards of Canada"
            album = await conn.get_album("al-1")
            assert album.song[0].title == "Roygbiv"
        finally:
            await conn.cleanup()
    seen = [r for r in fake_library.web.requests if "getAlbum" in r.path]
    assert seen and all(r.header("x-brainstream-user") == "admin" for r in seen)
    assert all(not ({"u", "p", "t", "s", "apiKey"} & set(r.query)) for r in fake_library.web.requests)
    # every call, the health ping included, carries the secret library-svc admits the gateway by (made at start)
    secret = library_api_secret(None, gateway.settings.data_dir)
    assert len(secret) == 64 and {r.header("x-brainstream-internal") for r in fake_library.web.requests} == {secret}


async def test_credentials_never_reach_the_library_however_they_are_spelled(
    gateway: Any, fake_library: FakeSubsonic
) -> None:
    pw = gateway.app_password()
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        # percent-encoded names are the same parameters (%70 is p, %75 is u); the rest is relayed as the client wrote it
        got = await c.get(f"/rest/getAlbum?%75=admin&%70={pw}&f=json&id=al-1&c=caf%C3%A9+bar")
        assert json.loads(got.content)["subsonic-response"]["album"]["name"] == "Music Has the Right to Children"
        # OpenSubsonic formPost: the parameters in the body, relayed upstream as a query
        form = {"u": "admin", "p": pw, "f": "json", "id": "al-1"}
        posted = await c.post("/rest/getAlbum.view", data=form)
        assert json.loads(posted.content)["subsonic-response"]["album"]["id"] == "al-1"
        # characters a URL should not carry as they are (braces) reach the library intact
        raw = await c.get(f'/rest/getAlbum?u=admin&p={pw}&f=json&id=al-1&c="{{x}}"')
        assert json.loads(raw.content)["subsonic-response"]["album"]["id"] == "al-1"
    seen = [r for r in fake_library.web.requests if "getAlbum" in r.path]
    assert len(seen) == 3 and all(r.header("x-brainstream-user") == "admin" for r in seen)
    assert seen[0].query == {"f": ["json"], "id": ["al-1"], "c": ["café bar"]}
    assert seen[1].query == {"f": ["json"], "id": ["al-1"]}
    assert seen[2].query == {"f": ["json"], "id": ["al-1"], "c": ['"{x}"']}


async def test_navidrome_upstream_gets_its_own_credentials(
    gateway_factory: Any, fake_navidrome: FakeSubsonic, nats_endpoint: Any
) -> None:
    gw = await gateway_factory(
        BRAINSTREAM_NAVIDROME_URL=fake_navidrome.base_url,
        BRAINSTREAM_NAVIDROME_USER="nd-admin",
        BRAINSTREAM_NAVIDROME_PASSWORD="nd-secret",
    )
    nc = await nats.connect(nats_endpoint.url)
    sub = await nc.subscribe(ScrobbleSubmitted.subject)
    conn = _conn(gw, username="admin", password=gw.app_password())
    try:
        artists = await conn.get_artists()
        assert artists.index[0].artist[0].name == "Boards of Canada"
        assert await conn.scrobble("tr-1", submission=True, listen_time=1_700_000_000)  # seconds; the library sends ms
        msg = await sub.next_msg(timeout=5)
        event = ScrobbleSubmitted.from_json(msg.data)
        assert (event.user, event.song_id, event.title) == ("admin", "tr-1", "Roygbiv")
        assert event.played_at.timestamp() == 1_700_000_000
    finally:
        await conn.cleanup()
        await nc.close()
    assert all(r.query.get("u") == ["nd-admin"] for r in fake_navidrome.web.requests if "getArtists" in r.path)
    assert fake_navidrome.scrobbles


async def _rest(gw: Any, method: str, **params: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as c:
        resp = await c.get(f"{gw.url}/rest/{method}", params={"f": "json", "v": "1.16.1", "c": "t", **params})
        return dict(json.loads(resp.content)["subsonic-response"])


async def test_every_auth_error_code(gateway_factory: Any, fake_library: FakeSubsonic) -> None:
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url)
    good = gw.app_password()
    salt = "abcdef"
    token = hashlib.md5((good + salt).encode()).hexdigest()
    cases = {
        10: {},
        40: {"u": "admin", "p": "wrong"},
        43: {"u": "admin", "apiKey": good},
        44: {"apiKey": "not-a-key"},
    }
    for code, params in cases.items():
        body = await _rest(gw, "getArtists", **params)
        assert body["status"] == "failed" and body["error"]["code"] == code, (code, body)
        assert "artists" not in body
    assert (await _rest(gw, "ping", u="admin", p="x", t=token, s=salt))["error"]["code"] == 43
    assert (await _rest(gw, "ping", u="nobody", t=token, s=salt))["error"]["code"] == 40
    assert (await _rest(gw, "ping", u="admin", t=token, s=salt))["status"] == "ok"
    assert (await _rest(gw, "ping", u="admin", p="enc:" + good.encode().hex()))["status"] == "ok"
    # only the extensions list answers without credentials
    ext = await _rest(gw, "getOpenSubsonicExtensions")
    assert {e["name"] for e in ext["openSubsonicExtensions"]} >= {"apiKeyAuthentication", "songLyrics"}
    assert not [r for r in fake_library.web.requests if "getArtists" in r.path]


async def test_mechanisms_switched_off_answer_41_and_42(gateway_factory: Any, fake_library: FakeSubsonic) -> None:
    gw = await gateway_factory(
        BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url,
        BRAINSTREAM_SUBSONIC_ALLOW_PLAIN=False,
        BRAINSTREAM_SUBSONIC_ALLOW_TOKEN=False,
    )
    good = gw.app_password()
    assert (await _rest(gw, "ping", u="admin", t="0" * 32, s="abcdef"))["error"]["code"] == 41
    assert (await _rest(gw, "ping", u="admin", p=good))["error"]["code"] == 42
    assert (await _rest(gw, "ping", apiKey=good))["status"] == "ok"


async def test_wrong_passwords_on_rest_count_against_the_address(
    gateway_factory: Any, fake_library: FakeSubsonic
) -> None:
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url, BRAINSTREAM_AUTH_GUESSES_PER_MINUTE=2)
    good = gw.app_password()
    assert (await _rest(gw, "ping", u="admin", p=good))["status"] == "ok"  # a right password is not a guess
    assert (await _rest(gw, "ping", u="admin", p="guess"))["error"]["code"] == 40
    assert (await _rest(gw, "ping"))["error"]["code"] == 10  # a malformed request is not a guess
    assert (await _rest(gw, "ping", apiKey="guess"))["error"]["code"] == 44
    async with httpx.AsyncClient(base_url=gw.url) as c:  # two guesses a minute: the third is not even checked
        slowed = await c.get("/rest/ping", params={"u": "admin", "p": good, "f": "json"})
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) > 0
    assert "slow down" in slowed.json()["subsonic-response"]["error"]["message"]


async def test_the_gateways_own_answers_honour_jsonp(gateway: Any, fake_library: FakeSubsonic) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as c:

        async def jsonp(method: str, callback: str, **params: str) -> tuple[httpx.Response, dict[str, Any]]:
            resp = await c.get(f"/rest/{method}", params={"f": "jsonp", "callback": callback, **params})
            assert resp.headers["content-type"] == "application/javascript", resp.text
            assert resp.text.startswith(f"{callback}(") and resp.text.endswith(");"), resp.text
            return resp, dict(json.loads(resp.text[len(callback) + 1 : -2])["subsonic-response"])

        _, wrong = await jsonp("getArtists", "cb", u="admin", p="wrong")
        assert (wrong["status"], wrong["error"]["code"]) == ("failed", 40)
        _, missing = await jsonp("ping.view", "jQuery3510_17", u="admin")
        assert missing["error"]["code"] == 10
        _, ext = await jsonp("getOpenSubsonicExtensions", "app.got")
        assert {e["name"] for e in ext["openSubsonicExtensions"]} >= {"apiKeyAuthentication", "songLyrics"}
        # a callback that is not a plain name would be script written into the page: XML instead
        unsafe = await c.get("/rest/ping", params={"f": "jsonp", "callback": "alert(1);cb", "u": "admin", "p": "x"})
        assert unsafe.headers["content-type"].startswith("application/xml") and "alert" not in unsafe.text


def test_guesses_are_limited_per_address_and_per_account_in_a_sliding_minute() -> None:
    now = [0.0]
    limiter = GuessLimiter(per_address=3, per_account=2, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert isinstance(limiter.try_guess("10.0.0.1", None), Guess)
    assert limiter.try_guess("10.0.0.1", None) == 60.0  # the address is spent until its first guess ages out
    first = limiter.try_guess("10.0.0.2", "Ann")
    assert isinstance(first, Guess)
    first.took_back()  # it was right: not counted
    assert isinstance(limiter.try_guess("10.0.0.3", "ann"), Guess)
    now[0] = 10.0
    assert isinstance(limiter.try_guess("10.0.0.4", "ANN"), Guess)
    assert limiter.try_guess("10.0.0.5", "ann") == 50.0  # an account is limited whichever address guesses
    now[0] = 60.0
    assert isinstance(limiter.try_guess("10.0.0.1", None), Guess)
    assert isinstance(limiter.try_guess("10.0.0.5", "ann"), Guess)


async def test_stream_ranges_head_and_rotation(gateway: Any) -> None:
    params = {"u": "admin", "p": gateway.app_password(), "id": "tr-1"}
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        full = await c.get("/rest/stream", params=params)
        assert full.status_code == 200 and full.content == AUDIO
        part = await c.get("/rest/stream", params=params, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == AUDIO[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(AUDIO)}"
        head = await c.head("/rest/stream", params=params)
        assert head.status_code == 200 and head.content == b""
        cover = await c.get("/rest/getCoverArt", params=params)
        assert cover.headers["content-type"] == "image/png"
        client = await gateway.login()
        new = (await client.post("/api/me/subsonic-password")).json()["password"]
        assert (await client.get("/api/me/subsonic-password")).json()["password"] == new
        await client.aclose()
        stale = await c.get("/rest/ping", params={**params, "f": "json"})
        assert json.loads(stale.content)["subsonic-response"]["error"]["code"] == 40
        await asyncio.sleep(0)
