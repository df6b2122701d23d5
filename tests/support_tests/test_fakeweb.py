"""Tests for tests.support.fakeweb."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.fakeweb import FakeWeb, RateLimit, Reply, Request


@pytest.fixture
def client(fake_web: FakeWeb) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake_web.base_url, timeout=5.0) as c:
        yield c


def test_base_url_is_loopback_with_a_real_port(fake_web: FakeWeb) -> None:
    assert fake_web.base_url.startswith("http://127.0.0.1:")
    assert int(fake_web.base_url.rsplit(":", 1)[1]) > 0
    assert fake_web.url("/x") == fake_web.base_url + "/x"


def test_json_route_with_path_params(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("GET", "/ws/2/recording/{mbid}", {"id": "rec-1"}, headers={"X-Extra": "yes"})
    resp = client.get("/ws/2/recording/abc-123", params={"fmt": "json", "inc": "artists"})
    assert resp.status_code == 200
    assert resp.json() == {"id": "rec-1"}
    assert resp.headers["content-type"] == "application/json"
    assert resp.headers["x-extra"] == "yes"
    [req] = fake_web.requests
    assert req.method == "GET"
    assert req.path == "/ws/2/recording/abc-123"
    assert req.params == {"mbid": "abc-123"}
    assert req.route == "/ws/2/recording/{mbid}"
    assert req.query == {"fmt": ["json"], "inc": ["artists"]}
    assert fake_web.count("GET", "/ws/2/recording/{mbid}") == 1
    assert fake_web.count("POST", "/ws/2/recording/{mbid}") == 0


def test_handler_sees_params_and_several_placeholders(fake_web: FakeWeb, client: httpx.Client) -> None:
    def handler(req: Request) -> Reply:
        return Reply(json={"user": req.params["user"], "kind": req.params["kind"], "count": req.query["count"]})

    fake_web.route("GET", "/1/cf/recommendation/user/{user}/{kind}", handler)
    resp = client.get("/1/cf/recommendation/user/r%C3%A9my%20x/recording?count=5&count=6")
    assert resp.json() == {"user": "rémy x", "kind": "recording", "count": ["5", "6"]}
    assert fake_web.requests[0].path == "/1/cf/recommendation/user/r%C3%A9my%20x/recording"
    # A placeholder spans exactly one segment.
    assert client.get("/1/cf/recommendation/user/a/b/recording").status_code == 404


def test_sequence_with_retry_after_then_success(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.sequence(
        "GET",
        "/search",
        [Reply(503, headers={"Retry-After": "1"}), Reply(json={"data": [1]})],
    )
    first = client.get("/search")
    assert first.status_code == 503
    assert first.headers["retry-after"] == "1"
    for _ in range(2):  # the last reply repeats
        again = client.get("/search")
        assert again.status_code == 200
        assert again.json() == {"data": [1]}
    assert fake_web.count("GET", "/search") == 3


def test_html_error_page(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.reply("GET", "/2.0/", Reply.html(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"))
    resp = client.get("/2.0/", params={"method": "track.getInfo"})
    assert resp.status_code == 502
    assert resp.headers["content-type"].startswith("text/html")
    assert "Bad Gateway" in resp.text
    with pytest.raises(json.JSONDecodeError):
        resp.json()


def test_truncated_json_fails_to_parse(fake_web: FakeWeb, client: httpx.Client) -> None:
    obj = {"data": [{"id": i, "title": f"Song {i}"} for i in range(10)]}
    fake_web.reply("GET", "/search", Reply.truncated_json(obj))
    resp = client.get("/search")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    assert json.dumps(obj).startswith(resp.text)
    assert 0 < len(resp.content) < len(json.dumps(obj))
    with pytest.raises(json.JSONDecodeError):
        resp.json()


def test_truncated_json_refuses_objects_whose_half_still_parses() -> None:
    with pytest.raises(ValueError, match="still valid JSON"):
        Reply.truncated_json(123456)


def test_raw_bytes_with_bom_are_preserved(fake_web: FakeWeb, client: httpx.Client) -> None:
    bom_json = b"\xef\xbb\xbf" + b'{"track": {"name": "x"}}'
    fake_web.reply("GET", "/2.0/", Reply.raw(bom_json))
    resp = client.get("/2.0/")
    assert resp.content == bom_json
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    # The quirk clients must handle: a str with a BOM is not JSON to the json module.
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.content.decode("utf-8"))
    assert json.loads(resp.content.decode("utf-8-sig")) == {"track": {"name": "x"}}


def test_rate_limit_counts_violations_for_fast_requests(fake_web: FakeWeb, client: httpx.Client) -> None:
    calls: list[str] = []

    def handler(req: Request) -> Reply:
        calls.append(req.path)
        return Reply(json={"ok": True})

    fake_web.route("GET", "/ws/2/artist/{mbid}", handler, limit=RateLimit(min_interval_s=0.2))
    assert client.get("/ws/2/artist/a").status_code == 200
    limited = client.get("/ws/2/artist/b")
    assert limited.status_code == 503
    assert limited.json() == {"error": "rate limit exceeded"}
    assert calls == ["/ws/2/artist/a"], "a refused request never reaches the handler"
    assert [r.path for r in fake_web.violations] == ["/ws/2/artist/b"]
    assert fake_web.count("GET", "/ws/2/artist/{mbid}") == 2


def test_rate_limit_accepts_spaced_requests(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("GET", "/ws/2/artist/{mbid}", {"ok": True}, limit=RateLimit(min_interval_s=0.2))
    statuses = []
    for i in range(3):
        if i:
            time.sleep(0.25)
        statuses.append(client.get(f"/ws/2/artist/{i}").status_code)
    assert statuses == [200, 200, 200]
    assert fake_web.violations == []


def test_rate_limit_is_shared_across_routes_and_clients(fake_web: FakeWeb) -> None:
    limit = RateLimit(min_interval_s=0.2, status=429, headers={"Retry-After": "1"})
    fake_web.json("GET", "/ws/2/artist/{mbid}", {"a": 1}, limit=limit)
    fake_web.json("GET", "/ws/2/release/{mbid}", {"r": 1}, limit=limit)
    with httpx.Client(base_url=fake_web.base_url) as one, httpx.Client(base_url=fake_web.base_url) as two:
        assert one.get("/ws/2/artist/x").status_code == 200
        refused = two.get("/ws/2/release/y")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert len(fake_web.violations) == 1


def test_rate_limit_window(fake_web: FakeWeb, client: httpx.Client) -> None:
    # Last.fm style: over the limit still answers 200, with an error code in the body.
    lastfm_error = Reply(json={"error": 29, "message": "Rate Limit Exceeded"})
    fake_web.json("GET", "/2.0/", {"ok": True}, limit=RateLimit(per_window=3, window_s=0.3, reply=lastfm_error))
    bodies = [client.get("/2.0/").json() for _ in range(4)]
    assert bodies == [{"ok": True}] * 3 + [{"error": 29, "message": "Rate Limit Exceeded"}]
    time.sleep(0.35)
    assert client.get("/2.0/").json() == {"ok": True}
    assert len(fake_web.violations) == 1


def test_rate_limit_needs_a_rule() -> None:
    with pytest.raises(ValueError):
        RateLimit()
    with pytest.raises(ValueError):
        RateLimit(per_window=3)


def test_delay_triggers_a_client_timeout(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/slow", Reply(json={"late": True}, delay_s=3.0))
    fake_web.json("GET", "/fast", {"ok": True})
    with httpx.Client(base_url=fake_web.base_url, timeout=0.2) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get("/slow")
        # The server keeps serving others while one handler sleeps.
        assert c.get("/fast").json() == {"ok": True}
    assert fake_web.count("GET", "/slow") == 1


def test_small_delay_is_answered(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.reply("GET", "/slowish", Reply(json={"ok": True}, delay_s=0.1))
    assert client.get("/slowish").json() == {"ok": True}


def test_unknown_route_is_404_and_recorded(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("GET", "/known", {})
    missing = client.get("/nowhere", params={"q": "1"})
    assert missing.status_code == 404
    assert missing.json() == {"error": "not found"}
    wrong_method = client.delete("/known")
    assert wrong_method.status_code == 404
    assert [(r.method, r.path, r.route) for r in fake_web.requests] == [
        ("GET", "/nowhere", None),
        ("DELETE", "/known", None),
    ]
    assert fake_web.count("GET", "/nowhere") == 1


def test_records_query_headers_and_bodies(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("POST", "/api/v0/searches", {"id": "s1"}, status=201)
    resp = client.post(
        "/api/v0/searches",
        params=[("tag", "a"), ("tag", "b"), ("empty", "")],
        headers={"X-API-Key": "secret", "User-Agent": "BrainStream-tests/1.0"},
        json={"searchText": "artist title"},
    )
    assert resp.status_code == 201
    [req] = fake_web.requests
    assert req.query == {"tag": ["a", "b"], "empty": [""]}
    assert req.headers["x-api-key"] == "secret"
    assert req.header("User-Agent") == "BrainStream-tests/1.0"
    assert req.header("missing") is None
    assert req.json() == {"searchText": "artist title"}
    assert req.at <= time.monotonic()


def test_chunked_request_body_is_read(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("PUT", "/upload", {"ok": True})

    def parts() -> Iterator[bytes]:
        yield b"hello "
        yield b"world"

    assert client.put("/upload", content=parts()).status_code == 200
    [req] = fake_web.requests
    assert req.header("transfer-encoding") == "chunked"
    assert req.text() == "hello world"


def test_latest_route_wins(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("GET", "/rest/{endpoint}", {"generic": True})
    fake_web.json("GET", "/rest/ping.view", {"specific": True})
    assert client.get("/rest/ping.view").json() == {"specific": True}
    assert client.get("/rest/search3.view").json() == {"generic": True}
    fake_web.json("GET", "/rest/ping.view", {"override": True})
    assert client.get("/rest/ping.view").json() == {"override": True}


def test_handler_error_answers_500_and_is_kept(fake_web: FakeWeb, client: httpx.Client) -> None:
    def broken(req: Request) -> Reply:
        raise KeyError("oops")

    fake_web.route("GET", "/broken", broken)
    resp = client.get("/broken")
    assert resp.status_code == 500
    assert "KeyError" in resp.text
    assert [type(e) for e in fake_web.handler_errors] == [KeyError]


def test_dropped_connection(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.reply("GET", "/reset", Reply.dropped())
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/reset")


def test_head_and_empty_bodies(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.reply("HEAD", "/release/{mbid}/front", Reply(307, headers={"Location": "/img/1.jpg"}))
    fake_web.reply("DELETE", "/api/v0/searches/{id}", Reply(204))
    head = client.head("/release/x/front")
    assert (head.status_code, head.headers["location"]) == (307, "/img/1.jpg")
    assert client.delete("/api/v0/searches/s1").status_code == 204


def test_reset_forgets_requests_not_routes(fake_web: FakeWeb, client: httpx.Client) -> None:
    fake_web.json("GET", "/a", {"a": 1})
    client.get("/a")
    fake_web.reset()
    assert fake_web.requests == []
    assert client.get("/a").json() == {"a": 1}


def test_reply_rejects_json_and_body_or_bytes_as_status() -> None:
    with pytest.raises(ValueError):
        Reply(json={}, body=b"x")
    with pytest.raises(TypeError, match=r"Reply\.raw"):
        Reply(b"{}")  # type: ignore[arg-type]


async def test_async_client(fake_web: FakeWeb) -> None:
    fake_web.json("GET", "/search", {"results": []})
    async with httpx.AsyncClient(base_url=fake_web.base_url) as c:
        resp = await c.get("/search", params={"term": "x"})
    assert resp.json() == {"results": []}


def test_factory_gives_independent_servers(fake_web_factory: Callable[[], FakeWeb]) -> None:
    deezer, spotify = fake_web_factory(), fake_web_factory()
    assert deezer.base_url != spotify.base_url
    deezer.json("GET", "/search", {"from": "deezer"})
    assert httpx.get(deezer.url("/search")).json() == {"from": "deezer"}
    assert httpx.get(spotify.url("/search")).status_code == 404


def _fakeweb_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "fakeweb" or t.name.startswith("Thread-")}


def test_stop_joins_every_thread_even_with_open_and_slow_connections() -> None:
    before = _fakeweb_threads()
    web = FakeWeb().start()
    web.reply("GET", "/slow", Reply(json={}, delay_s=30.0))
    web.json("GET", "/fast", {})
    keep_alive = httpx.Client(base_url=web.base_url, timeout=0.2)
    try:
        assert keep_alive.get("/fast").status_code == 200  # leaves an idle keep-alive connection open
        with pytest.raises(httpx.ReadTimeout):
            keep_alive.get("/slow")
        started = time.monotonic()
        web.stop()
        assert time.monotonic() - started < 5.0, "stop() must not wait for the slow handler"
    finally:
        keep_alive.close()
    assert _fakeweb_threads() - before == set()
    with pytest.raises(RuntimeError):
        _ = web.base_url
    web.stop()  # idempotent


def test_can_restart_after_stop() -> None:
    web = FakeWeb()
    with web:
        web.json("GET", "/a", {"a": 1})
    with web:
        assert httpx.get(web.url("/a")).json() == {"a": 1}
