"""Plays matched to recordings on a real nats-server against the fake MusicBrainz: evidence order, the cache that
serves repeats, and a play unmatched today matched on a later try once MusicBrainz knows it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import resolve_catalog
from nats.js import JetStreamContext
from resolve_bus import publish
from resolve_catalog import mbid
from resolve_fakes import Fakes

from contracts.base import Message
from contracts.gateway import MatchListen
from contracts.ingest import ListenRecorded
from contracts.resolve import ListenMatched, ListenUnmatched
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until


def play(source: str, artist: str, title: str, **extra: object) -> ListenRecorded:
    return ListenRecorded(user="ana", source=source, listened_at=datetime.now(UTC), artist=artist, title=title, **extra)


async def answers(js: JetStreamContext, n: int) -> list[Message]:
    async def count() -> int:
        return (await js.stream_info("RESOLVE")).state.messages

    await wait_until(count, timeout=30, predicate=lambda c: c >= n)
    out: list[Message] = []
    for seq in range(1, (await count()) + 1):
        msg = await js.get_msg("RESOLVE", seq)
        cls = ListenMatched if msg.subject == ListenMatched.subject else ListenUnmatched
        out.append(cls.from_json(msg.data or b""))
    return out


async def test_evidence_order_and_repeats_served_from_the_cache(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    trusted = play("listenbrainz", "Queen", "Bohemian Rhapsody", recording_mbid=uuid.UUID(mbid("bohemian")))
    text = play("lastfm", "The Beatles", "Let It Be")
    repeats = [play("lastfm", "BEATLES", "Let It Be (Remastered 2009)") for _ in range(5)]
    # Last.fm's mbid names another track: checked, rejected, then the text finds the right one
    wrong = play("lastfm", "The Beatles", "Here Comes the Sun", recording_mbid=uuid.UUID(mbid("bohemian")))
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        for e in [trusted, text, *repeats, wrong]:
            await publish(provisioned, e)
        await answers(provisioned, 7)
        # a Last.fm play of the track ListenBrainz mapped: its text is known now, no request
        later = play("lastfm", "Queen", "Bohemian Rhapsody")
        await publish(provisioned, later)
        got = await answers(provisioned, 8)
    by_listen = {e.listen_id: e for e in got if isinstance(e, ListenMatched | ListenUnmatched)}
    assert trusted.event_id not in by_listen  # its own MBID is the match: no request, no answer needed
    first = by_listen[text.event_id]
    assert isinstance(first, ListenMatched) and str(first.recording_mbid) == mbid("let-it-be")
    assert first.method == "fuzzy"
    assert all(str(getattr(by_listen[r.event_id], "recording_mbid", "")) == mbid("let-it-be") for r in repeats)
    checked = by_listen[wrong.event_id]
    assert isinstance(checked, ListenMatched) and str(checked.recording_mbid) == mbid("here-comes")
    assert checked.method == "fuzzy"
    served = by_listen[later.event_id]
    assert isinstance(served, ListenMatched) and str(served.recording_mbid) == mbid("bohemian")
    # one search for Let It Be whatever the repeats, one lookup and one search for the wrong mbid, none for later
    assert fakes.mb.count("GET", "/ws/2/recording") == 2
    assert fakes.mb.count("GET", "/ws/2/recording/{mbid}") == 1


async def test_unmatched_today_matched_on_a_later_try(
    provisioned: JetStreamContext,
    nats_endpoint: NatsEndpoint,
    fake_web_factory: Callable[[], FakeWeb],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    monkeypatch.delitem(resolve_catalog.RECORDINGS, "lemon")  # MusicBrainz does not know it yet
    p = play("lastfm", "Kenshi Yonezu", "Lemon", duration_ms=255_000)
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, p)
        (miss,) = await answers(provisioned, 1)
        assert isinstance(miss, ListenUnmatched) and miss.reason == "not_found" and miss.attempt == 1
        monkeypatch.undo()  # now it does
        again = MatchListen(
            user="ana", listen_id=p.event_id, source="lastfm", artist=p.artist, title=p.title, attempt=2
        )
        await publish(provisioned, again)
        _, hit = await answers(provisioned, 2)
    assert isinstance(hit, ListenMatched) and str(hit.recording_mbid) == mbid("lemon") and hit.attempt == 2
