"""Plays sent on to ListenBrainz and Last.fm on a real nats-server (the ledger is a real KV bucket) against loopback
fakes: the right fields, no echo, a retry after every kind of upstream trouble, and exactly one submission each."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.js import JetStreamContext

from contracts.gateway import NowPlayingReported
from contracts.ingest import ListenRecorded
from contracts.livesettings import UserAccounts
from infra.http import ApiClient, HttpSettings, IntervalLimiter, SourceUnavailable
from ingest_svc.adapters.kv import KvForwardLedger
from ingest_svc.adapters.scrobble_targets import LastfmTarget, ListenBrainzTarget
from ingest_svc.handlers import on_now_playing
from ingest_svc.service.forwarding import Forwarder
from tests.support.fakeweb import FakeWeb, Reply

from .forward_fakes import FakeLastfmWrite, FakeListenBrainzWrite

MBID = uuid.UUID("5b11f4ce-a62d-471e-81fc-a69a8278c7da")
ALICE = UserAccounts(
    username="alice",
    listenbrainz_user="alice",
    listenbrainz_token="lb-token-alice",
    lastfm_user="alice-fm",
    lastfm_session_key="lfm-sk-alice",
)
ONCE = HttpSettings(BRAINSTREAM_CONTACT="ops@example.org", BRAINSTREAM_HTTP_TIMEOUT=0.5, BRAINSTREAM_HTTP_RETRIES=0)


def subsonic_play(source: str = "subsonic", **extra: Any) -> ListenRecorded:
    fields: dict[str, Any] = {
        "user": "alice",
        "source": source,
        "listened_at": datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        "artist": "Nirvana",
        "title": "Smells Like Teen Spirit",
        "album": "Nevermind",
        "duration_ms": 301_000,
        "recording_mbid": MBID,
        "source_ids": {"song_id": "s-1", "client": "Feishin"},
    }
    return ListenRecorded(**(fields | extra))


@pytest.fixture
async def world(provisioned: JetStreamContext) -> AsyncIterator[tuple[Forwarder, Any, Any]]:
    with FakeWeb() as lb_web, FakeWeb() as fm_web:
        lb, fm = FakeListenBrainzWrite(lb_web), FakeLastfmWrite(fm_web)
        async with (
            ApiClient("listenbrainz", lb_web.base_url, ONCE, limiter=IntervalLimiter(0.0)) as lb_client,
            ApiClient("lastfm", fm_web.url("/2.0/"), ONCE, limiter=IntervalLimiter(0.0)) as fm_client,
        ):
            targets = [ListenBrainzTarget(lb_client, "1.0"), LastfmTarget(fm_client, "lfm-key", "lfm-secret")]
            yield Forwarder(targets, await KvForwardLedger.open(provisioned)), lb, fm  # type: ignore[list-item]


async def test_a_subsonic_play_reaches_both_targets_once_with_its_fields(world: Any) -> None:
    forwarder, lb, fm = world
    play = subsonic_play()
    assert await forwarder.forward(play, ALICE) == ["listenbrainz", "lastfm"]
    assert await forwarder.forward(play, ALICE) == []  # a redelivery sends nothing again
    (sub,) = lb.submissions()
    assert sub["listen_type"] == "single"
    (item,) = sub["payload"]
    assert item["listened_at"] == int(play.listened_at.timestamp())
    meta = item["track_metadata"]
    assert (meta["artist_name"], meta["track_name"], meta["release_name"]) == (
        "Nirvana",
        "Smells Like Teen Spirit",
        "Nevermind",
    )
    info = meta["additional_info"]
    assert info["recording_mbid"] == str(MBID) and info["submission_client"] == "BrainStream"
    assert info["duration_ms"] == 301_000 and info["media_player"] == "Feishin"
    assert fm.scrobble_calls() == 1
    (scrobble,) = fm.scrobbles  # the fake checked the api_sig and the session key
    assert scrobble["timestamp"] == str(int(play.listened_at.timestamp())) and scrobble["mbid"] == str(MBID)
    assert (scrobble["artist"], scrobble["track"], scrobble["album"], scrobble["duration"]) == (
        "Nirvana",
        "Smells Like Teen Spirit",
        "Nevermind",
        "301",
    )


async def test_plays_from_the_services_are_never_sent_back_and_a_target_can_be_switched_off(world: Any) -> None:
    forwarder, lb, fm = world
    assert await forwarder.forward(subsonic_play("listenbrainz"), ALICE) == []
    assert await forwarder.forward(subsonic_play("lastfm"), ALICE) == []
    assert lb.web.requests == [] and fm.web.requests == []
    no_lastfm = ALICE.model_copy(update={"forward_lastfm": False})
    later = subsonic_play(listened_at=datetime(2026, 5, 1, 13, 0, tzinfo=UTC))
    assert await forwarder.forward(later, no_lastfm) == ["listenbrainz"]
    assert fm.web.requests == []


@pytest.mark.parametrize(
    "trouble",
    ["lb_429", "lb_timeout", "lastfm_error_29", "lastfm_error_11", "lastfm_timeout"],
)
async def test_upstream_trouble_means_a_later_retry_and_one_delivery(world: Any, trouble: str) -> None:
    forwarder, lb, fm = world
    if trouble == "lb_429":
        headers = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-In": "1"}
        lb.before.append(Reply(429, json={"code": 429, "error": "Too many requests"}, headers=headers))
    elif trouble == "lb_timeout":
        lb.hang_after_accept_s = 2.0  # accepted, but the answer comes after the client gave up
    elif trouble == "lastfm_timeout":
        fm.hang_after_accept_s = 2.0
    else:
        code = int(trouble.rsplit("_", 1)[1])
        message = "Rate Limit Exceeded" if code == 29 else "Service Offline - This service is temporarily offline"
        fm.before.append(Reply(200, json={"error": code, "message": message}))
    play = subsonic_play()
    with pytest.raises(SourceUnavailable):
        await forwarder.forward(play, ALICE)  # the consumer NAKs and the message comes back later
    lb.hang_after_accept_s = fm.hang_after_accept_s = 0.0
    await forwarder.forward(play, ALICE)
    await forwarder.forward(play, ALICE)
    assert len(lb.listens) == 1 and len(fm.scrobbles) == 1
    if trouble == "lb_timeout":
        assert len(lb.submissions()) == 1  # asked whether it landed; not sent again
    if trouble == "lastfm_timeout":
        assert fm.scrobble_calls() == 1


async def test_now_playing_goes_to_both_as_playing_now(world: Any) -> None:
    forwarder, lb, fm = world
    report = NowPlayingReported(
        user="alice", song_id="s-1", client="Feishin", artist="Nirvana", title="Lithium", duration_ms=257_000
    )
    handle = on_now_playing(lambda: _ready(forwarder), {"alice": ALICE}.get)
    await handle(report, None)  # type: ignore[arg-type]
    assert len(lb.playing_now) == 1 and "listened_at" not in lb.playing_now[0]
    assert lb.submissions()[0]["listen_type"] == "playing_now"
    assert lb.listens == [] and fm.scrobbles == []
    (told,) = fm.now_playing
    assert (told["method"], told["artist"], told["track"], told["duration"]) == (
        "track.updateNowPlaying",
        "Nirvana",
        "Lithium",
        "257",
    )
    # a target that fails is reported, not retried for long: now playing is stale in minutes
    lb.before.append(Reply(503, body=b"down"))
    await handle(report, None)  # type: ignore[arg-type]
    assert len(fm.now_playing) == 2


async def _ready(forwarder: Forwarder) -> Forwarder:
    return forwarder
