"""The outbound HTTP client against a loopback fake that answers like real APIs do, quirks included."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime, timedelta

import pytest

from infra import __version__
from infra.http import (
    ApiClient,
    BadResponse,
    ClientError,
    HttpSettings,
    IntervalLimiter,
    NotFound,
    SourceUnavailable,
)
from tests.support.fakeweb import FakeWeb, Reply

FAST = HttpSettings(BRAINSTREAM_CONTACT="ops@example.org", BRAINSTREAM_HTTP_BACKOFF=0.01, BRAINSTREAM_HTTP_TIMEOUT=0.5)


async def test_sends_a_meaningful_user_agent(fake_web: FakeWeb) -> None:
    fake_web.json("GET", "/ping", {"ok": True})
    async with ApiClient("listenbrainz", fake_web.base_url, FAST) as client:
        assert await client.get_json("/ping") == {"ok": True}
    ua = fake_web.requests[0].header("User-Agent")
    assert ua == f"BrainStream/{__version__} ( ops@example.org )"


async def test_429_with_retry_after_is_waited_out_then_succeeds(fake_web: FakeWeb) -> None:
    fake_web.sequence(
        "GET",
        "/1/x",
        [Reply(429, json={"code": 429, "error": "slow down"}, headers={"Retry-After": "0.3"}), Reply(json={"n": 1})],
    )
    limiter = IntervalLimiter(0.0)
    async with ApiClient("listenbrainz", fake_web.base_url, FAST, limiter=limiter) as client:
        t0 = time.monotonic()
        assert await client.get_json("/1/x") == {"n": 1}
        waited = time.monotonic() - t0
    first, second = fake_web.requests
    assert second.at - first.at >= 0.29  # the retry respected Retry-After
    assert waited >= 0.29
    assert client.stats.requests == {429: 1, 200: 1}


async def test_ratelimit_headers_pause_before_the_window_runs_out(fake_web: FakeWeb) -> None:
    fake_web.sequence(
        "GET",
        "/1/y",
        [Reply(json=[1], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "0.3"}), Reply(json=[2])],
    )
    async with ApiClient("listenbrainz", fake_web.base_url, FAST, limiter=IntervalLimiter(0.0)) as client:
        await client.get_json("/1/y")
        await client.get_json("/1/y")
    first, second = fake_web.requests
    assert second.at - first.at >= 0.29
    assert client.stats.requests == {200: 2}  # no 429 needed


@pytest.mark.parametrize("value", ["soon", "Fri, 32 Foo 2026 99:00:00 GMT", "1.5s", ""])
async def test_malformed_retry_after_is_the_upstream_error_not_a_crash(fake_web: FakeWeb, value: str) -> None:
    fake_web.reply("GET", "/1/z", Reply(429, json={"error": "slow down"}, headers={"Retry-After": value}))
    async with ApiClient("listenbrainz", fake_web.base_url, FAST, limiter=IntervalLimiter(0.0)) as client:
        with pytest.raises(SourceUnavailable) as err:
            await client.get_json("/1/z")
    assert (err.value.status, err.value.reason) == (429, "rate_limited")
    assert fake_web.count("GET", "/1/z") == FAST.max_retries + 1  # backed off and retried like any 429


async def test_retry_after_as_an_http_date_is_waited_out(fake_web: FakeWeb) -> None:
    soon = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=1.5), usegmt=True)
    fake_web.sequence("GET", "/1/d", [Reply(503, body=b"busy", headers={"Retry-After": soon}), Reply(json={"n": 2})])
    async with ApiClient("listenbrainz", fake_web.base_url, FAST) as client:
        assert await client.get_json("/1/d") == {"n": 2}
    first, second = fake_web.requests
    assert second.at - first.at >= 0.4  # whole seconds in the date: at least half a second was left


async def test_persistent_5xx_becomes_source_unavailable(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/ws/2/recording/abc", Reply(503, body=b"busy"))
    async with ApiClient("musicbrainz", fake_web.base_url, FAST) as client:
        with pytest.raises(SourceUnavailable) as err:
            await client.get_json("/ws/2/recording/abc")
    assert err.value.status == 503
    assert err.value.service == "musicbrainz"
    assert err.value.endpoint == "/ws/2/recording/abc"
    assert err.value.retryable
    assert fake_web.count("GET", "/ws/2/recording/abc") == FAST.max_retries + 1


async def test_html_error_page_is_a_bad_response(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/search", Reply.html(200, "<html><body>Bad Gateway</body></html>"))
    async with ApiClient("itunes", fake_web.base_url, FAST) as client:
        with pytest.raises(BadResponse, match="html_instead_of_json"):
            await client.get_json("/search")


async def test_truncated_json_is_a_bad_response(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/search", Reply.truncated_json({"results": [{"a": 1}, {"b": 2}]}))
    async with ApiClient("deezer", fake_web.base_url, FAST) as client:
        with pytest.raises(BadResponse, match="invalid_json"):
            await client.get_json("/search")


async def test_json_with_a_bom_decodes(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/2.0/", Reply.raw(b'\xef\xbb\xbf{"topartists": {"artist": []}}'))
    async with ApiClient("lastfm", fake_web.base_url, FAST) as client:
        assert await client.get_json("/2.0/") == {"topartists": {"artist": []}}


async def test_timeout_is_retried_then_reported(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/slow", Reply(json={}, delay_s=2.0))
    settings = FAST.model_copy(update={"max_retries": 1})
    async with ApiClient("spotify", fake_web.base_url, settings) as client:
        with pytest.raises(SourceUnavailable, match="timeout"):
            await client.get_json("/slow")
    assert client.stats.requests[0] == 2


async def test_404_is_an_answer_and_401_is_not_retried(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/missing", Reply(404, json={"error": "Not Found"}))
    fake_web.reply("GET", "/private", Reply(401, json={"error": "Invalid token"}))
    async with ApiClient("listenbrainz", fake_web.base_url, FAST) as client:
        with pytest.raises(NotFound):
            await client.get_json("/missing")
        with pytest.raises(ClientError) as err:
            await client.get_json("/private")
    assert err.value.status == 401
    assert "Invalid token" in err.value.detail
    assert fake_web.count("GET", "/private") == 1


async def test_204_means_no_content(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", "/1/cf", Reply(204))
    async with ApiClient("listenbrainz", fake_web.base_url, FAST) as client:
        assert await client.get_json("/1/cf") is None


async def test_interval_limiter_spaces_requests(fake_web: FakeWeb) -> None:
    fake_web.json("GET", "/r", {})
    async with ApiClient("listenbrainz", fake_web.base_url, FAST, limiter=IntervalLimiter(0.2)) as client:
        for _ in range(4):
            await client.get_json("/r")
    # arrival times carry the server thread's scheduling jitter (tens of ms on a loaded machine), so check the span
    # of three intervals with room for it: without the limiter the four requests arrive within a few ms
    span = fake_web.requests[-1].at - fake_web.requests[0].at
    assert span >= 0.45, span
