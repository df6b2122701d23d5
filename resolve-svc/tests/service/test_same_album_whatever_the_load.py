"""The rule: the same input gives the same album, year and cover whatever the load, and one release group gets one
album name, one year and one cover, whichever store knew each of its tracks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from resolve_bus import outputs, publish
from resolve_catalog import album_catalog
from resolve_fakes import Fakes, itunes_track

from contracts.common import CandidateSource
from contracts.ingest import CandidateDiscovered
from contracts.resolve import TrackResolved
from infra.provision import provision
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb
from tests.support.nats import NatsEndpoint, reset_jetstream

SCALE = 30.0  # iTunes: 20 searches per 2 s instead of per minute; Deezer 50 per 0.17 s


def _candidate(recording: str, position: int) -> CandidateDiscovered:
    return CandidateDiscovered(
        recording_mbid=uuid.UUID(recording), source=CandidateSource.CF, run_id=uuid.uuid4(), position=position
    )


def _what_a_user_sees(events: list[Any], fakes: Fakes) -> dict[str, tuple[Any, ...]]:
    out = {}
    for e in events:
        assert isinstance(e, TrackResolved), e
        t = e.track
        cover = t.cover.url.removeprefix(fakes.images.base_url) if t.cover else None
        out[str(t.recording_mbid)] = (t.album, t.album_source, t.year, cover, t.release_group_mbid)
    return out


async def test_a_burst_gives_exactly_the_albums_and_covers_a_trickle_gives(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    catalog = album_catalog(10, 3, "burst")  # 30 tracks, 10 albums: every track known to iTunes and Deezer
    order = list(catalog)

    trickle_fakes = Fakes(fake_web_factory, scale=SCALE, recordings=catalog)
    async with running(trickle_fakes.settings(nats_endpoint.url), trickle_fakes.http()):
        for i, recording in enumerate(order):  # one at a time: the stores are never busy
            await publish(provisioned, _candidate(recording, i))
            await outputs(provisioned, i + 1, timeout=30.0)
        trickle = _what_a_user_sees(await outputs(provisioned, len(order)), trickle_fakes)

    await reset_jetstream(provisioned)  # a fresh bus, cache and album memory for the same input
    await provision(provisioned)
    burst_fakes = Fakes(fake_web_factory, scale=SCALE, recordings=catalog)
    async with running(burst_fakes.settings(nats_endpoint.url), burst_fakes.http()) as components:
        for i, recording in enumerate(order):  # all at once: far past iTunes' budget
            await publish(provisioned, _candidate(recording, i))
        burst = _what_a_user_sees(await outputs(provisioned, len(order), timeout=60.0), burst_fakes)
        deferred = components.chain.commercial[0].deferred  # type: ignore[attr-defined]

    assert burst == trickle
    assert {v[1] for v in burst.values()} == {"itunes"}  # the best source for all, not whichever had a slot free
    assert len({v[0] for v in burst.values()}) == 10
    assert deferred > 0  # the burst did outrun iTunes' budget: tracks waited for it rather than going elsewhere
    assert burst_fakes.violations == {"musicbrainz": 0, "listenbrainz": 0, "itunes": 0, "deezer": 0}
    assert burst_fakes.caa.requests == []


async def test_tracks_of_one_album_known_to_different_stores_land_in_one_album(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    catalog = album_catalog(1, 3, "split")
    first, second, third = catalog.values()
    fakes = Fakes(fake_web_factory, scale=SCALE, recordings=catalog)
    art = fakes.images.base_url

    def term(doc: dict[str, Any]) -> str:
        return f"{doc['artist-credit'][0]['name']} {doc['title']}".lower()

    # iTunes knows the first track, under its own name for the album and its reissue's date
    fakes.itunes_results[term(first)] = [
        itunes_track(
            "Split Artist 0",
            first["title"],
            "split Album 0 (Remastered)",
            first["length"],
            art,
            releaseDate="2019-05-01T07:00:00Z",
        )
    ]
    fakes.deezer_unknown.add(term(first))
    fakes.itunes_results[term(second)] = []  # only Deezer knows the second
    fakes.itunes_results[term(third)] = []  # no store knows the third: MusicBrainz and the Cover Art Archive would
    fakes.deezer_unknown.add(term(third))
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        for i, doc in enumerate((first, second, third)):
            await publish(provisioned, _candidate(doc["id"], i))
            await outputs(provisioned, i + 1)
        got = _what_a_user_sees(await outputs(provisioned, 3), fakes)

    albums = set(got.values())
    assert len(albums) == 1, got  # one name, one source, one year, one cover, one release group
    ((album, source, year, cover, group),) = albums
    assert (album, source, year) == ("split Album 0 (Remastered)", "itunes", 2000)
    assert cover is not None and cover.endswith("/3000x3000bb.jpg") and group is not None
    assert fakes.deezer.requests == [] and fakes.caa.requests == []  # later tracks joined without asking
