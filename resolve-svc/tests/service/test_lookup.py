"""`lookup.recordings` on a real nats-server: the candidates a person chooses from, through the shared MusicBrainz
budget and cache, and a clear answer when MusicBrainz cannot be asked."""

from __future__ import annotations

from collections.abc import Callable

import nats
from nats.js import JetStreamContext
from resolve_catalog import mbid
from resolve_fakes import Fakes

from contracts.lookup import LOOKUP_SUBJECT, RecordingCandidates, SearchRecordings
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint


async def _ask(url: str, artist: str, title: str) -> RecordingCandidates:
    nc = await nats.connect(url)
    try:
        msg = await nc.request(
            LOOKUP_SUBJECT, SearchRecordings(artist=artist, title=title).model_dump_json().encode(), 20
        )
        return RecordingCandidates.model_validate_json(msg.data)
    finally:
        await nc.close()


async def test_candidates_best_first_with_their_album(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        got = await _ask(nats_endpoint.url, "Queen", "Bohemian Rhapsody")
        again = await _ask(nats_endpoint.url, "Queen", "Bohemian Rhapsody")
    assert got.unavailable is None
    first = got.candidates[0]
    # the studio recording first, shown with its studio album (MusicBrainz lists the compilation first)
    assert str(first.recording_mbid) == mbid("bohemian")
    assert (first.release, first.year, first.length_ms) == ("A Night at the Opera", 1975, 354000)
    live = next(c for c in got.candidates if str(c.recording_mbid) == mbid("bohemian-live"))
    assert "Wembley" in live.disambiguation and live.distance > first.distance
    assert again == got
    assert fakes.mb.count("GET", "/ws/2/recording") == 1  # the second ask came from the cache
    assert fakes.violations["musicbrainz"] == 0


async def test_musicbrainz_down_is_said_not_waited_for(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    fakes.mb.reply("GET", "/ws/2/recording", Reply(503, json={"error": "down"}))
    async with running(fakes.settings(nats_endpoint.url), fakes.http(BRAINSTREAM_HTTP_RETRIES=0)):
        got = await _ask(nats_endpoint.url, "Queen", "Killer Queen")
    assert got.candidates == [] and got.unavailable and "MusicBrainz" in got.unavailable
