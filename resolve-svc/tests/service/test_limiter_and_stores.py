"""The shared slot limiter on a real KV bucket, and the stores' budgets: spent or refusing, they delay a track (it is
deferred without holding a worker), never give it another source's album."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable

from nats.js import JetStreamContext
from resolve_bus import candidate, outputs, publish
from resolve_catalog import by_key, mbid
from resolve_fakes import Fakes, itunes_track

from contracts.common import TrackQuery
from contracts.gateway import RetryTrack
from contracts.resolve import TrackResolved
from infra.ratelimit import KvSlotLimiter
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb, Reply, Request
from tests.support.nats import NatsEndpoint


async def test_slot_limiter_spaces_requesters_of_two_processes(provisioned: JetStreamContext) -> None:
    kv = await provisioned.key_value("rate_limits")
    a, b = KvSlotLimiter(kv, "test", 0.1), KvSlotLimiter(kv, "test", 0.1)
    stamps: list[float] = []

    async def take(limiter: KvSlotLimiter) -> None:
        await limiter.acquire()
        stamps.append(time.time())

    await asyncio.gather(*(take(a if i % 2 else b) for i in range(8)))
    stamps.sort()
    assert all(y - x >= 0.095 for x, y in itertools.pairwise(stamps)), stamps


async def test_penalty_reaches_the_other_process(provisioned: JetStreamContext) -> None:
    kv = await provisioned.key_value("rate_limits")
    a, b = KvSlotLimiter(kv, "pause", 0.01), KvSlotLimiter(kv, "pause", 0.01)
    await a.pause(0.5)
    started = time.monotonic()
    await b.acquire()
    assert time.monotonic() - started >= 0.4
    await a.pause(5.0)
    assert not await b.try_acquire(0.1)  # a budget that is spent is skipped, not waited for


def _refuse_first(refusal: Reply, then: Callable[[Request], Reply]) -> Callable[[Request], Reply]:
    calls = itertools.count()
    return lambda request: refusal if next(calls) == 0 else then(request)


async def test_a_store_refusing_for_its_budget_delays_the_track_and_still_gives_its_album(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    """iTunes' 403 and Deezer's quota code 4 say "over budget": the track comes back after the store's window and gets
    that store's album, not the next source's (the store knew it all along)."""
    fakes = Fakes(fake_web_factory, scale=60)  # windows of 1 s (iTunes) and 0.08 s (Deezer)
    fakes.itunes.route(
        "GET", "/search", _refuse_first(Reply(403, json={"errorMessage": "rate limited"}), fakes.itunes_search)
    )
    quota = {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
    fakes.deezer.route("GET", "/search", _refuse_first(Reply(json=quota), fakes.deezer_search))
    fakes.itunes_results["rammstein du hast"] = []  # iTunes does not know it: Deezer answers for it
    started = time.monotonic()
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, candidate("teen-spirit"))
        await publish(provisioned, candidate("du-hast", 1))
        got = {str(e.track.recording_mbid): e for e in await outputs(provisioned, 2) if isinstance(e, TrackResolved)}
    teen, du_hast = got[mbid("teen-spirit")], got[mbid("du-hast")]
    assert (teen.track.album, teen.track.album_source) == ("Nevermind", "itunes")
    assert (du_hast.track.album, du_hast.track.album_source) == ("Sehnsucht", "deezer")
    assert time.monotonic() - started >= 1.0  # iTunes' refusal paused it for its window, for every replica
    assert fakes.itunes.count("GET", "/search") >= 2
    assert fakes.caa.requests == []  # no track fell through to the archive


async def test_cover_that_is_not_an_image_is_not_used(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    fakes.images.reply("GET", "/image/thumb/{slug}/{size}", Reply.html(200, "<html>Access denied</html>"))
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, candidate("du-hast"))
        (event,) = await outputs(provisioned, 1)
    assert isinstance(event, TrackResolved) and event.track.album == "Sehnsucht"
    assert event.track.cover is None
    assert "itunes cover is not an image" in event.explanation.notes
    assert fakes.caa.requests == []  # a store matched the album: its cover or none, never an unrelated archive one


async def test_rematch_pins_the_recording_and_isrc_comes_before_text(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    fakes.itunes_results["nirvana smells like teen spirit"] = [
        itunes_track("Nirvana", "Smells Like Teen Spirit", "Nevermind", 301000, fakes.images.base_url)
    ]
    rematch = RetryTrack(
        query=TrackQuery(artist="Nirvana", title="Smells Like Teen Spirit"),
        rematch_mbid=uuid.UUID(mbid("teen-spirit-live")),
    )
    isrc = by_key("joga")["isrcs"][0]
    by_isrc = RetryTrack(query=TrackQuery(isrc=isrc, artist="Somebody", title="Something else"))
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, rematch)
        await publish(provisioned, by_isrc)
        got = {e.causation_id: e for e in await outputs(provisioned, 2)}
    pinned, found = got[rematch.event_id], got[by_isrc.event_id]
    assert isinstance(pinned, TrackResolved) and pinned.explanation.method == "mbid"
    assert str(pinned.track.recording_mbid) == mbid("teen-spirit-live")
    assert isinstance(found, TrackResolved) and found.explanation.method == "isrc"
    assert found.track.title == "Jóga"
    searches = [r.query["query"][0] for r in fakes.mb.requests_for("GET", "/ws/2/recording")]
    assert searches == [f"isrc:{isrc}"]
