"""What MusicBrainz and friends really send on a bad day: HTML error pages, cut-off JSON, empty results, 429 with
Retry-After, no answer at all. Faults raise (the message is redelivered); "not found" is an answer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from nats.js import JetStreamContext
from resolve_bus import candidate, outputs, publish
from resolve_catalog import by_key, mbid
from resolve_fakes import DictCache, Fakes

from contracts.resolve import TrackResolved
from infra.http import ApiClient, BadResponse, IntervalLimiter, SourceUnavailable
from resolve_svc.adapters.musicbrainz import MusicBrainz
from resolve_svc.app import running
from resolve_svc.domain.model import Query
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint


def mb_client(web: FakeWeb, limiter: Any = None, **http: Any) -> MusicBrainz:
    client = ApiClient("musicbrainz", web.base_url, Fakes.http(**http), limiter=limiter)
    return MusicBrainz(client, DictCache())  # type: ignore[arg-type]


LOOKUP = "/ws/2/recording/{mbid}"


async def test_html_error_page_is_a_fault(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", LOOKUP, Reply.html(200, "<html><body>MusicBrainz is down for maintenance</body></html>"))
    with pytest.raises(BadResponse) as err:
        await mb_client(fake_web).lookup(mbid("bohemian"))
    assert err.value.reason == "html_instead_of_json"


async def test_truncated_json_is_a_fault_and_is_not_cached(fake_web: FakeWeb) -> None:
    fake_web.sequence("GET", LOOKUP, [Reply.truncated_json(by_key("bohemian")), Reply(json=by_key("bohemian"))])
    mb = mb_client(fake_web)
    with pytest.raises(BadResponse):
        await mb.lookup(mbid("bohemian"))
    rec = await mb.lookup(mbid("bohemian"))
    assert rec is not None and rec.title == "Bohemian Rhapsody"


async def test_empty_search_result_is_an_answer(fake_web: FakeWeb) -> None:
    fake_web.json("GET", "/ws/2/recording", {"created": "2026-03-06T19:39:22.423Z", "count": 0, "recordings": []})
    assert await mb_client(fake_web).search(Query(artist="Nobody", title="Nothing")) == []


async def test_not_found_is_an_answer(fake_web: FakeWeb) -> None:
    assert await mb_client(fake_web).lookup(mbid("missing")) is None


async def test_429_with_retry_after_is_honoured(fake_web: FakeWeb) -> None:
    fake_web.sequence(
        "GET",
        LOOKUP,
        [Reply(429, json={"error": "slow down"}, headers={"Retry-After": "1"}), Reply(json=by_key("joga"))],
    )
    rec = await mb_client(fake_web, IntervalLimiter(0.01)).lookup(mbid("joga"))
    first, second = fake_web.requests
    assert rec is not None and rec.title == "Jóga"
    assert second.at - first.at >= 0.95


async def test_timeout_is_a_fault(fake_web: FakeWeb) -> None:
    fake_web.reply("GET", LOOKUP, Reply(json=by_key("joga"), delay_s=1.0))
    started = time.monotonic()
    with pytest.raises(SourceUnavailable) as err:
        await mb_client(fake_web, BRAINSTREAM_HTTP_TIMEOUT=0.2, BRAINSTREAM_HTTP_RETRIES=1).lookup(mbid("joga"))
    assert err.value.reason == "timeout" and time.monotonic() - started < 5


async def test_bad_page_then_good_answer_resolves_after_redelivery(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    fakes = Fakes(fake_web_factory, scale=10)
    fakes.lb.route("GET", "/1/metadata/recording/", lambda r: Reply(json={}), limit=fakes.lb_limit)
    fakes.mb.sequence("GET", LOOKUP, [Reply.html(200, "<html>502 Bad Gateway</html>"), Reply(json=by_key("glory-box"))])
    async with running(fakes.settings(nats_endpoint.url), fakes.http()):
        await publish(provisioned, candidate("glory-box"))
        (event,) = await outputs(provisioned, 1, timeout=20)
    assert isinstance(event, TrackResolved) and event.track.recording_mbid == uuid.UUID(mbid("glory-box"))
    assert fakes.mb.count("GET", LOOKUP) == 2
