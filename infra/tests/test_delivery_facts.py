"""Failed attempts and dead letters become DELIVERY events of their journey, and external failures reach health.

Real nats-server and the real runtime; the handler calls a real `ApiClient` against a loopback port nobody listens
on (MusicBrainz refusing connections), or a loopback fake answering 503.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nats.js import JetStreamContext

from contracts.base import Message
from contracts.catalog import CATALOG
from contracts.common import TrackQuery
from contracts.deadletter import DeadLetterReason
from contracts.delivery import AttemptFailed, DeadLetterRedriven, MessageDeadLettered
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.http import ApiClient, HttpSettings, NotFound, SourceUnavailable
from infra.ops.deadletters import list_letters, redrive
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime, upstream_summary
from infra.upstreams import UPSTREAMS, describe_failure
from tests.support.fakeweb import FakeWeb, Reply, Request
from tests.support.nats import NatsEndpoint
from tests.support.stack import free_port
from tests.support.wait import wait_until

SPEC = ConsumerSpec(
    durable="test_facts",
    stream="GATEWAY",
    filter_subjects=["gateway.track.requested"],
    service="resolve-svc",
    description="test consumer",
    max_deliver=3,
    backoff_s=[0.05],
)


@pytest.fixture(autouse=True)
def fresh_book() -> Iterator[None]:
    UPSTREAMS.clear()
    yield
    UPSTREAMS.clear()


async def delivery_events(js: JetStreamContext) -> list[Message]:
    last = (await js.stream_info("DELIVERY")).state.last_seq
    out = []
    for seq in range(1, last + 1):
        msg = await js.get_msg("DELIVERY", seq)
        out.append(CATALOG[msg.subject or ""].from_json(msg.data or b""))
    return out


async def test_attempts_dead_letter_and_redrive_are_facts_of_the_journey(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    await provisioned.add_consumer(SPEC.stream, consumer_config(SPEC))
    refused = free_port()  # nothing listens there: every connection is refused
    client = ApiClient(
        "musicbrainz",
        f"http://127.0.0.1:{refused}",
        HttpSettings(BRAINSTREAM_HTTP_RETRIES=0, BRAINSTREAM_HTTP_TIMEOUT=5),
    )

    async def handler(event: RequestTrack, delivery: Delivery) -> None:
        await client.get_json("/ws/2/recording/", params={"query": event.query.title})

    settings = RuntimeSettings(
        NATS_URL=nats_endpoint.url, BRAINSTREAM_UPSTREAM_DEGRADED_AFTER=0.01, BRAINSTREAM_FETCH_BATCH=1
    )
    runtime = ServiceRuntime("resolve-svc", "test", settings)
    runtime.consume(SPEC.durable, handler, spec=SPEC)
    await runtime.start()
    try:
        request = RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="A", title="T"), user="ana")
        await runtime.publish(request)
        facts = await wait_until(
            lambda: delivery_events(provisioned),
            timeout=60,
            predicate=lambda evs: any(isinstance(e, MessageDeadLettered) for e in evs),
        )
        attempts = [e for e in facts if isinstance(e, AttemptFailed)]
        assert [a.attempt for a in attempts] == [1, 2] and {a.max_attempts for a in attempts} == {3}
        for fact in facts:
            assert (fact.correlation_id, fact.causation_id, fact.user) == (
                request.correlation_id,
                request.event_id,
                "ana",
            )
        assert attempts[0].error == "MusicBrainz unreachable: connection refused"
        assert attempts[0].upstream == "musicbrainz" and attempts[0].retry_at > attempts[0].occurred_at
        assert (attempts[0].service, attempts[0].consumer) == ("resolve-svc", "test_facts")
        dead = next(e for e in facts if isinstance(e, MessageDeadLettered))
        assert dead.reason is DeadLetterReason.EXHAUSTED and dead.deliveries == 3
        assert dead.error == "MusicBrainz unreachable: connection refused"
        letters = await list_letters(provisioned)
        assert [letter.id for letter in letters] == [dead.letter_id]

        # the failing upstream is in health, degraded (threshold near zero) and named
        report = (await runtime.health()).model_dump(mode="json")
        entry = report["checks"]["upstreams"]["entries"]["musicbrainz"]
        assert entry["last_failure"] and entry["last_success"] is None and entry["degraded"]
        assert entry["reason"] == "MusicBrainz unreachable: connection refused"
        assert report["status"] == "degraded" and report["checks"]["upstreams"]["degraded"] == ["musicbrainz"]
        merged = upstream_summary({"resolve-svc": report})
        assert merged["musicbrainz"]["degraded"] and merged["musicbrainz"]["name"] == "MusicBrainz"

        # a re-drive says so on the same journey
        result = await redrive(provisioned, [dead.letter_id or 0])
        assert result.published == 1
        after = await wait_until(
            lambda: delivery_events(provisioned),
            timeout=10,
            predicate=lambda evs: any(isinstance(e, DeadLetterRedriven) for e in evs),
        )
        redriven = next(e for e in after if isinstance(e, DeadLetterRedriven))
        assert redriven.letter_ids == [dead.letter_id] and redriven.correlation_id == request.correlation_id
    finally:
        await runtime.stop()
        await client.aclose()


async def test_a_recovered_upstream_is_healthy_again_and_answers_count_as_success() -> None:
    state = {"status": 503}

    def ws(req: Request) -> Reply:
        if state["status"] == 404:
            return Reply(404, json={"error": "Not Found"})
        if state["status"] != 200:
            return Reply.html(state["status"], "<html>Service Temporarily Unavailable</html>")
        return Reply(200, json={"recordings": []})

    with FakeWeb() as web:
        web.route("GET", "/ws/2/recording/", ws)
        client = ApiClient(
            "musicbrainz", web.base_url, HttpSettings(BRAINSTREAM_HTTP_RETRIES=1, BRAINSTREAM_HTTP_BACKOFF=0.01)
        )
        try:
            with pytest.raises(SourceUnavailable) as caught:
                await client.get_json("/ws/2/recording/")
            assert describe_failure(caught.value).text == "MusicBrainz unavailable: HTTP 503"
            failing = UPSTREAMS.report(degraded_after_s=0.0, waiting_window_s=60)["musicbrainz"]
            assert failing["degraded"] and failing["short"] == "unavailable"
            # nothing asked it for longer than the window: no work waits on it, so it degrades nothing
            assert not UPSTREAMS.report(degraded_after_s=0.0, waiting_window_s=-1)["musicbrainz"]["degraded"]
            state["status"] = 404  # "not found" is an answer: the upstream is back
            with pytest.raises(NotFound):
                await client.get_json("/ws/2/recording/")
            back = UPSTREAMS.report(degraded_after_s=0.0, waiting_window_s=60)["musicbrainz"]
            assert not back["degraded"] and back["last_success"] and back["failing_since"] is None
        finally:
            await client.aclose()


def test_failures_in_words() -> None:
    from infra.http import BadResponse, ExternalError

    cases: dict[str, Any] = {
        "ListenBrainz not answering: no answer in time": SourceUnavailable("listenbrainz", "/1/x", None, "timeout"),
        "Deezer rate-limiting: too many requests (HTTP 429)": SourceUnavailable("deezer", "/s", 429, "rate_limited"),
        "iTunes answering wrongly: html instead of json": BadResponse("itunes", "/s", 200, "html_instead_of_json"),
        "Spotify unavailable: HTTP 502": SourceUnavailable("spotify-accounts", "/api/token", 502, "server_error"),
    }
    for words, exc in cases.items():
        assert describe_failure(exc).text == words
    wrapped = RuntimeError("resolving failed")
    wrapped.__cause__ = ExternalError("coverartarchive", "/rg", None, "connection_failed", "[Errno 111] refused")
    assert describe_failure(wrapped).text == "Cover Art Archive unreachable: connection refused"
    assert describe_failure(wrapped).upstream == "coverartarchive"
    assert describe_failure(ValueError("bad tag")).text == "ValueError: bad tag"


async def test_an_upstream_that_times_out_is_named_in_words() -> None:
    with FakeWeb() as web:
        web.reply("GET", "/1/metadata/recording/", Reply(200, json={}, delay_s=1.0))
        http = HttpSettings(BRAINSTREAM_HTTP_RETRIES=0, BRAINSTREAM_HTTP_TIMEOUT=0.2)
        client = ApiClient("listenbrainz", web.base_url, http)
        try:
            with pytest.raises(SourceUnavailable) as caught:
                await client.get_json("/1/metadata/recording/")
        finally:
            await client.aclose()
    assert describe_failure(caught.value).text == "ListenBrainz not answering: no answer in time"
    entry = UPSTREAMS.report(degraded_after_s=60, waiting_window_s=60)["listenbrainz"]
    assert entry["reason"] == "ListenBrainz not answering: no answer in time" and not entry["degraded"]  # not yet
