# ruff: noqa: RUF001  (Unicode punctuation is the point of these strings)
"""resolve-svc on a real nats-server against the loopback fakes: album and cover choice, batching, caching."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from resolve_bus import candidate, outputs, publish
from resolve_catalog import mbid
from resolve_fakes import Fakes, itunes_track

from contracts.common import TrackQuery
from contracts.gateway import RequestTrack
from contracts.resolve import TrackResolved, TrackUnresolved
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until


async def test_lb_candidates_batch_resolve_with_itunes_album_and_cover(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    keys = ["bohemian", "let-it-be", "teen-spirit", "halo", "joga"]
    events = [candidate(k, i) for i, k in enumerate(keys)]
    for e in events:  # queued before the service starts, so one fetch brings all five whatever the machine's load
        await publish(provisioned, e)
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        got = await outputs(provisioned, len(keys))
    assert all(isinstance(e, TrackResolved) for e in got), got
    by_mbid = {str(e.track.recording_mbid): e for e in got if isinstance(e, TrackResolved)}
    boh = by_mbid[mbid("bohemian")]
    assert boh.track.album == "A Night at the Opera"
    # iTunes' budget is waited for (the tracks past its slots are deferred), so every track gets iTunes' album
    sources = {e.track.album_source for e in by_mbid.values()}
    assert sources == {"itunes"}, sources
    for e in by_mbid.values():
        assert e.track.cover is not None and e.track.cover.source == e.track.album_source
        if e.track.album_source == "itunes":
            assert e.track.cover.url.endswith("/3000x3000bb.jpg")  # the store's largest image
    assert boh.explanation.method == "mbid" and boh.origin == "cf" and boh.user == "ana"
    causes = {e.event_id: e for e in events}
    assert all(e.causation_id in causes and e.correlation_id == causes[e.causation_id].correlation_id for e in got)
    # one ListenBrainz request for the five, no Cover Art Archive behind an iTunes match; MusicBrainz only for the
    # two tracks whose ListenBrainz release (a compilation) is not the store's album: which release group is it?
    assert fakes.lb.count("GET", "/1/metadata/recording/") == 1
    looked_up = {r.params["mbid"] for r in fakes.mb.requests}
    assert looked_up == {mbid("bohemian"), mbid("let-it-be")} and fakes.caa.requests == []
    assert boh.track.release_group_mbid is not None  # so its album is the one every later track of it joins
    ua = fakes.lb.requests[0].header("User-Agent") or ""
    assert ua.startswith("BrainStream/") and "tests@example.org" in ua


async def test_studio_album_beats_compilation_and_live_when_stores_fail(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10, deezer_enabled=False)
    art = fakes.images.base_url
    # iTunes knows only a cover band's take: another artist, so it must be rejected
    fakes.itunes_results["queen bohemian rhapsody"] = [
        itunes_track("The Queen Tribute Band", "Bohemian Rhapsody", "Tribute to Queen", 354000, art)
    ]
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, candidate("bohemian"))
        (event,) = await outputs(provisioned, 1)
    assert isinstance(event, TrackResolved)
    track = event.track
    # MusicBrainz lists Greatest Hits (compilation) and Live at Wembley first; the studio album wins
    assert (track.album, track.album_source, track.year) == ("A Night at the Opera", "musicbrainz", 1975)
    assert str(track.release_group_mbid) == mbid("rg:A Night at the Opera")
    assert track.cover is not None and track.cover.source == "coverartarchive" and track.cover.width == 1200
    notes = " | ".join(event.explanation.notes)
    assert "itunes: no valid match" in notes and "Tribute Band" in notes, notes
    assert fakes.mb.count("GET", "/ws/2/recording/{mbid}") == 1
    assert fakes.caa.count("GET", "/release-group/{mbid}") == 1


async def test_seen_again_costs_no_external_request(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, candidate("creep"))
        await outputs(provisioned, 1)
        before = fakes.counts()
        await publish(provisioned, candidate("creep", 1))
        second = await outputs(provisioned, 2)
    assert fakes.counts() == before
    assert isinstance(second[1], TrackResolved) and second[1].track.title == "Creep"


async def test_manual_request_by_text_and_unknown_mbid(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    rid = uuid.uuid4()
    text = RequestTrack(
        request_id=rid,
        query=TrackQuery(artist="Guns N’ Roses", title="Sweet Child O’ Mine (Official Music Video)"),
        url="https://example.org/v/1",
    )
    unknown = RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(recording_mbid=uuid.UUID(mbid("nope"))))
    vague = RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="Queen", title="Somebody to Love"))
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        for e in (text, unknown, vague):
            await publish(provisioned, e)
        got = {e.causation_id: e for e in await outputs(provisioned, 3)}
    ok = got[text.event_id]
    assert isinstance(ok, TrackResolved) and ok.request_id == rid and ok.source_url == "https://example.org/v/1"
    assert ok.track.title == "Sweet Child o’ Mine" and ok.explanation.method == "fuzzy" and ok.origin == "manual"
    missing = got[unknown.event_id]
    assert isinstance(missing, TrackUnresolved) and missing.reason == "not_found"
    below = got[vague.event_id]
    assert isinstance(below, TrackUnresolved) and below.reason == "below_threshold"
    assert below.candidate_count > 0 and below.top_penalties[0].name == "title"
    # the unknown MBID was looked up, never searched by text
    searches: list[Any] = fakes.mb.requests_for("GET", "/ws/2/recording")
    assert all("Somebody" in r.query["query"][0] or "Sweet" in r.query["query"][0] for r in searches)


async def test_live_recording_from_listenbrainz_does_not_take_the_studio_album(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    art = fakes.images.base_url
    # ListenBrainz calls the live take plain "Bohemian Rhapsody"; only its canonical release says "Live at Wembley"
    fakes.itunes_results["queen bohemian rhapsody"] = [
        itunes_track("Queen", "Bohemian Rhapsody", "A Night at the Opera", 356000, art)
    ]
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, candidate("bohemian-live"))
        (event,) = await outputs(provisioned, 1)
    assert isinstance(event, TrackResolved)
    assert (event.track.album, event.track.album_source) == ("Live at Wembley '86", "musicbrainz")
    assert any("another version" in note for note in event.explanation.notes), event.explanation.notes


async def test_a_redelivered_candidate_publishes_once(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    event = candidate("glory-box")
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        # the same message twice (as a redelivery after a lost ack would hand it over again)
        for copy_no in range(2):
            await provisioned.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": f"copy-{copy_no}"})

        async def handled() -> int:
            info = await provisioned.consumer_info("INGEST", "resolve_candidates")
            return info.ack_floor.stream_seq if info.ack_floor else 0

        await wait_until(handled, timeout=20, predicate=lambda seq: seq >= 2)
    (published,) = await outputs(provisioned, 1)
    assert published.causation_id == event.event_id
    assert (await provisioned.stream_info("RESOLVE")).state.messages == 1
