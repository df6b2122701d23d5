"""Bad input from the listening services: each case is retried or reported with a reason, and health stays ok
where it should (a source is unhealthy only once its last success is older than twice its interval)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contracts.ingest import ListenRecorded, PollFailed
from contracts.livesettings import UserAccounts
from infra.http import ApiClient, HttpSettings, IntervalLimiter
from ingest_svc.adapters.lastfm import LastfmFeed
from ingest_svc.adapters.listen_feeds import ListenBrainzFeed
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.adapters.spotify import SpotifyFeed
from ingest_svc.health import SourceHealth
from ingest_svc.ports import ListenFeed
from ingest_svc.service import ListenService
from tests.support.fakeweb import FakeWeb, Reply

from .fakes import (
    FakeLastfm,
    FakeListenBrainz,
    FakeSpotify,
    MemoryCursors,
    MemoryGate,
    RecordingPublisher,
    lastfm_track,
    lb_listen,
    spotify_item,
)

USER = UserAccounts(
    username="alice",
    listenbrainz_user="alice",
    lastfm_user="alice_fm",
    spotify_client_id="cid",
    spotify_client_secret="secret",
    spotify_refresh_token="refresh-1",
)
T0 = 1_700_000_000
INTERVAL = 300.0


class Rig:
    def __init__(self) -> None:
        self.pub = RecordingPublisher()
        self.health = SourceHealth()
        self.cursors = MemoryCursors()
        self.svc = ListenService(self.cursors, MemoryGate(), self.pub, self.health, lookback_s=3600)

    async def poll(self, feed: ListenFeed):  # type: ignore[no-untyped-def]
        return await self.svc.poll_reported("alice", USER, feed, 0, INTERVAL)

    def failures(self) -> list[tuple[str, str]]:
        return [(e.source, e.reason.value) for e in self.pub.of(PollFailed)]

    def healthy(self) -> bool:
        status, _ = self.health.check()
        return status.value == "ok"


@pytest.fixture
async def client(fake_web: FakeWeb, fast_http: HttpSettings) -> AsyncIterator[ApiClient]:
    async with ApiClient("lastfm", fake_web.url("/2.0/"), fast_http, limiter=IntervalLimiter(0.0)) as c:
        yield c


# Last.fm ---------------------------------------------------------------------------------------------------------


async def test_lastfm_single_track_object_bom_and_nowplaying(fake_web: FakeWeb, client: ApiClient) -> None:
    FakeLastfm(fake_web, tracks=[lastfm_track(None, 9, nowplaying=True), lastfm_track(T0, 1)], bom=True)
    rig = Rig()
    result = await rig.poll(LastfmFeed(client, "key"))
    assert result is not None and result.recorded == 1  # the now-playing item is not a listen
    (listen,) = rig.pub.of(ListenRecorded)
    assert (listen.artist, listen.title, listen.album) == ("Artist 1", "Song 1", "Album 1")
    assert listen.recording_mbid is not None and listen.source_ids["track_mbid"] == str(listen.recording_mbid)
    assert rig.healthy()


async def test_lastfm_pages_oldest_first_and_the_cursor_follows(fake_web: FakeWeb, client: ApiClient) -> None:
    tracks = [lastfm_track(T0 + 1000 - i, i) for i in range(450)]  # newest first, 3 pages of 200
    FakeLastfm(fake_web, tracks=tracks, single_as_object=False)
    rig = Rig()
    result = await rig.poll(LastfmFeed(client, "key"))
    assert result is not None and result.recorded == 450
    pages = [r.query["page"][0] for r in fake_web.requests_for("GET", "/2.0/")]
    assert pages == ["1", "3", "2"]
    assert (await rig.cursors.listens("alice", "lastfm")).newest_ts == T0 + 1000  # type: ignore[union-attr]


async def test_lastfm_rate_limit_error_29_with_http_200_is_retried(fake_web: FakeWeb, client: ApiClient) -> None:
    FakeLastfm(
        fake_web,
        tracks=[lastfm_track(T0, 1)],
        before=[Reply(json={"error": 29, "message": "Rate Limit Exceeded"})],
    )
    rig = Rig()
    result = await rig.poll(LastfmFeed(client, "key", error_retries=2))
    assert result is not None and result.recorded == 1
    assert rig.failures() == [] and rig.healthy()


async def test_lastfm_private_user_error_17_is_reported(fake_web: FakeWeb, client: ApiClient) -> None:
    FakeLastfm(fake_web, before=[Reply(json={"error": 17, "message": "Login: User required to be logged in"})])
    rig = Rig()
    assert await rig.poll(LastfmFeed(client, "key")) is None
    assert rig.failures() == [("lastfm", "private_user")]
    assert fake_web.count("GET", "/2.0/") == 1  # a private user is an answer: no retry
    assert rig.healthy()  # one failed poll is not yet stale


async def test_lastfm_unknown_user_with_http_404_error_body(fake_web: FakeWeb, client: ApiClient) -> None:
    FakeLastfm(fake_web, before=[Reply(404, json={"error": 6, "message": "User not found"})])
    rig = Rig()
    assert await rig.poll(LastfmFeed(client, "key")) is None
    assert rig.failures() == [("lastfm", "not_found")]


async def test_lastfm_error_body_with_a_bom_and_http_400(fake_web: FakeWeb, client: ApiClient) -> None:
    body = b'\xef\xbb\xbf{"error": 10, "message": "Invalid API key - You must be granted a valid key by last.fm"}'
    FakeLastfm(fake_web, before=[Reply.raw(body, 400)])
    rig = Rig()
    assert await rig.poll(LastfmFeed(client, "bad-key")) is None
    assert rig.failures() == [("lastfm", "unauthorized")]


async def test_lastfm_without_api_key_is_reported_as_unauthorized(fake_web: FakeWeb, client: ApiClient) -> None:
    rig = Rig()
    assert await rig.poll(LastfmFeed(client, None)) is None
    assert rig.failures() == [("lastfm", "unauthorized")]
    assert fake_web.requests == []


# ListenBrainz ----------------------------------------------------------------------------------------------------


def lb_feed(client: ApiClient) -> ListenBrainzFeed:
    return ListenBrainzFeed(ListenBrainz(client), page_size=100)


async def test_listenbrainz_429_with_headers_is_waited_out(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    lb = FakeListenBrainz(fake_web, listens=[lb_listen(T0 + i, i) for i in range(5)])
    limited = Reply(
        429,
        json={"code": 429, "error": "Too many requests"},
        headers={"Retry-After": "0.2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "0.2"},
    )
    fake_web.route("GET", "/1/user/alice/listens", _after_first(limited, lb._listens))
    rig = Rig()
    result = await rig.poll(lb_feed(lb_client))
    assert result is not None and result.recorded == 5
    first, second = fake_web.requests_for("GET", "/1/user/alice/listens")[:2]
    assert second.at - first.at >= 0.19
    assert rig.failures() == [] and rig.healthy()


def _after_first(first: Reply, then):  # type: ignore[no-untyped-def]
    sent = []

    def handle(req):  # type: ignore[no-untyped-def]
        if not sent:
            sent.append(req)
            return first
        return then(req)

    return handle


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply.html(200, "<!DOCTYPE html><html><body>Maintenance</body></html>"), "bad_response"),
        (Reply.truncated_json({"payload": {"listens": [lb_listen(T0, 1)], "count": 1}}), "bad_response"),
        (Reply.html(503, "<html><body>503 Service Unavailable</body></html>"), "unavailable"),
        (Reply(json={"payload": {"count": 1, "listens": [{"listened_at": T0}]}}), "bad_response"),
        (Reply(json={"unexpected": True}), "bad_response"),
        (Reply(json={"ok": True}, delay_s=1.0), "timeout"),
    ],
    ids=["html-200", "truncated-json", "html-503", "listen-without-metadata", "no-payload", "timeout"],
)
async def test_listenbrainz_bad_answers_are_reported_and_the_next_poll_recovers(
    fake_web: FakeWeb, lb_client: ApiClient, reply: Reply, reason: str
) -> None:
    lb = FakeListenBrainz(fake_web, listens=[lb_listen(T0 + i, i) for i in range(3)])
    fake_web.reply("GET", "/1/user/alice/listens", reply)
    rig = Rig()
    assert await rig.poll(lb_feed(lb_client)) is None
    assert rig.failures() == [("listenbrainz", reason)]
    assert rig.pub.of(ListenRecorded) == []
    assert await rig.cursors.listens("alice", "listenbrainz") is None  # the cursor did not move
    assert rig.healthy()

    fake_web.route("GET", "/1/user/alice/listens", lb._listens)  # the source is fine again
    result = await rig.poll(lb_feed(lb_client))
    assert result is not None and result.recorded == 3
    status, detail = rig.health.check()
    assert status.value == "ok"
    assert detail["sources"]["alice/listenbrainz"]["last_error"]  # the last error stays visible


# Spotify ---------------------------------------------------------------------------------------------------------


async def test_spotify_refreshes_the_token_and_again_after_a_401(fake_web: FakeWeb, fast_http: HttpSettings) -> None:
    fake = FakeSpotify(fake_web, items=[spotify_item(T0 * 1000 + i * 240_000, i) for i in range(3)])
    async with (
        ApiClient("spotify", fake_web.url("/v1"), fast_http) as api,
        ApiClient("spotify-accounts", fake_web.base_url, fast_http) as accounts,
    ):
        feed = SpotifyFeed(api, accounts)
        rig = Rig()
        result = await rig.poll(feed)
        assert result is not None and result.recorded == 3
        listen = rig.pub.of(ListenRecorded)[0]
        assert listen.isrc == "GBUM72000000" and listen.source_ids["track_id"] == "trk0"
        fake.token = "access-2"  # the old token stops working before it says it expires
        fake.items.append(spotify_item(T0 * 1000 + 10 * 240_000, 10))
        result = await rig.poll(feed)
        assert result is not None and result.recorded == 1
        assert fake_web.count("POST", "/api/token") == 2
        assert rig.healthy()


async def test_spotify_revoked_refresh_token_is_unauthorized(fake_web: FakeWeb, fast_http: HttpSettings) -> None:
    FakeSpotify(fake_web, refresh_token="something-else")
    async with (
        ApiClient("spotify", fake_web.url("/v1"), fast_http) as api,
        ApiClient("spotify-accounts", fake_web.base_url, fast_http) as accounts,
    ):
        rig = Rig()
        assert await rig.poll(SpotifyFeed(api, accounts)) is None
        assert rig.failures() == [("spotify", "unauthorized")]
