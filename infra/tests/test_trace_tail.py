"""`brainstream trace` follows a track across streams; `brainstream tail` shows new events as they arrive."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner

from contracts.acquire import TrackTagged
from contracts.base import Message
from contracts.gateway import RequestTrack
from contracts.ingest import CandidateDiscovered
from contracts.library import TrackImported
from contracts.resolve import TrackResolved
from infra.cli import app
from infra.ops.tail import Tailed, overlaps, tail
from infra.ops.trace import trace
from tests.support.nats import NatsEndpoint
from tests.support.samples import sample
from tests.support.wait import wait_until

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def _publish(js: JetStreamContext, event: Message) -> None:
    await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})


def _journey(mbid: uuid.UUID, cid: uuid.UUID) -> list[Message]:
    """Candidate → resolved → tagged → imported, 2 s, 30 s and 1 s apart; stored out of time order on purpose."""
    track = sample(TrackResolved).track.model_dump(mode="json") | {"recording_mbid": str(mbid), "title": "Song"}
    found = sample(CandidateDiscovered, recording_mbid=str(mbid), correlation_id=str(cid), occurred_at=T0.isoformat())
    resolved = TrackResolved.caused_by(
        found, **sample(TrackResolved, track=track).model_dump(exclude={"event_id", "correlation_id", "causation_id",
                                                                          "occurred_at", "user"}),
        occurred_at=T0 + timedelta(seconds=2),
    )  # fmt: skip
    tagged = TrackTagged.caused_by(
        resolved, **sample(TrackTagged, track=track).model_dump(exclude={"event_id", "correlation_id", "causation_id",
                                                                         "occurred_at", "user"}),
        occurred_at=T0 + timedelta(seconds=32),
    )  # fmt: skip
    imported = TrackImported.caused_by(
        tagged, **sample(TrackImported, recording_mbid=str(mbid)).model_dump(
            exclude={"event_id", "correlation_id", "causation_id", "occurred_at", "user"}),
        occurred_at=T0 + timedelta(seconds=33),
    )  # fmt: skip
    return [found, resolved, tagged, imported]


async def test_trace_by_correlation_id_orders_events_and_times_each_stage(provisioned: JetStreamContext) -> None:
    mbid, cid = uuid.uuid4(), uuid.uuid4()
    found, resolved, tagged, imported = _journey(mbid, cid)
    for event in (imported, tagged, found, resolved):  # storage order differs from time order
        await _publish(provisioned, event)
    for _ in range(20):
        await _publish(provisioned, sample(CandidateDiscovered))  # other tracks
    events = await trace(provisioned, str(cid))
    assert [e.subject for e in events] == [found.subject, resolved.subject, tagged.subject, imported.subject]
    assert [e.offset_s for e in events] == [0.0, 2.0, 32.0, 33.0]
    assert [e.stage_s for e in events] == [None, 2.0, 30.0, 1.0]
    assert {e.stream for e in events} == {"INGEST", "RESOLVE", "ACQUIRE", "LIBRARY"}


async def test_trace_by_mbid_finds_every_journey_even_events_without_the_mbid(provisioned: JetStreamContext) -> None:
    mbid, cid = uuid.uuid4(), uuid.uuid4()
    for event in _journey(mbid, cid):
        await _publish(provisioned, event)
    # a manual request for the same recording, by text only: its first event does not carry the MBID
    request = sample(
        RequestTrack, query={"artist": "A", "title": "Song"}, occurred_at=(T0 + timedelta(hours=1)).isoformat()
    )
    await _publish(provisioned, request)
    track = sample(TrackResolved).track.model_dump(mode="json") | {"recording_mbid": str(mbid)}
    answer = TrackResolved.caused_by(request, **sample(TrackResolved, track=track).model_dump(
        exclude={"event_id", "correlation_id", "causation_id", "occurred_at", "user"}),
        occurred_at=T0 + timedelta(hours=1, seconds=3))  # fmt: skip
    await _publish(provisioned, answer)
    # its dead letter is part of the journey too
    dl_headers = {"Brainstream-DL-Reason": "exhausted", "Brainstream-DL-Subject": answer.subject,
                  "Brainstream-DL-Detail": "disk full", "Brainstream-DL-Stream": "RESOLVE",
                  "Brainstream-DL-Failed-At": (T0 + timedelta(hours=1, seconds=9)).isoformat()}  # fmt: skip
    await provisioned.publish(f"deadletter.{answer.subject}", answer.to_json(), headers=dl_headers)

    events = await trace(provisioned, str(mbid))
    assert len({e.body["correlation_id"] for e in events}) == 2
    assert [e.subject for e in events][-3:] == [request.subject, answer.subject, f"deadletter.{answer.subject}"]
    assert events[-1].dead_letter and events[-1].dead_letter["reason"] == "exhausted"
    assert events[-1].stage_s == 6.0  # from the event it dead-letters
    assert events[-2].stage_s == 3.0


async def test_trace_cli_json_and_unknown_keys(
    provisioned: JetStreamContext, monkeypatch: pytest.MonkeyPatch, nats_endpoint: NatsEndpoint
) -> None:
    mbid, cid = uuid.uuid4(), uuid.uuid4()
    for event in _journey(mbid, cid):
        await _publish(provisioned, event)
    monkeypatch.setenv("NATS_URL", nats_endpoint.url)
    runner = CliRunner()
    out = await asyncio.to_thread(runner.invoke, app, ["trace", str(mbid), "--json"])
    assert out.exit_code == 0, out.output
    assert [e["stage_s"] for e in json.loads(out.stdout)] == [None, 2.0, 30.0, 1.0]
    table = await asyncio.to_thread(runner.invoke, app, ["trace", str(cid)], env={"COLUMNS": "200"})
    assert "resolve.track.resolved" in table.stdout and "30.0s" in table.stdout
    nothing = await asyncio.to_thread(runner.invoke, app, ["trace", str(uuid.uuid4())])
    assert nothing.exit_code == 1
    bad = await asyncio.to_thread(runner.invoke, app, ["trace", "not-a-uuid"])
    assert bad.exit_code == 2


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [(">", "ingest.>", True), ("resolve.>", "ingest.>", False), ("resolve.track.*", "resolve.>", True),
     ("*.track.resolved", "resolve.>", True), ("deadletter.resolve.>", "deadletter.>", True),
     ("resolve", "resolve.>", False)],
)  # fmt: skip
def test_subject_patterns_overlap(a: str, b: str, expected: bool) -> None:
    assert overlaps(a, b) is expected


async def test_tail_shows_new_matching_events_only(provisioned: JetStreamContext) -> None:
    old = sample(TrackResolved)
    await _publish(provisioned, old)  # before the tail: not shown
    seen: list[Tailed] = []
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(tail(provisioned, seen.append, stop, subject="*.track.>", ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout=5)
        await _publish(provisioned, probe := sample(TrackResolved))
        tagged, other = sample(TrackTagged), sample(CandidateDiscovered)
        await _publish(provisioned, other)  # ingest.candidate.discovered: filtered out
        await _publish(provisioned, tagged)
        await provisioned.publish("acquire.track.tagged", b"\x00 not json")
        await wait_until(lambda: len(seen) == 3, timeout=5)
    finally:
        stop.set()
        await task
    assert [t.subject for t in seen] == ["resolve.track.resolved", "acquire.track.tagged", "acquire.track.tagged"]
    assert seen[0].body and seen[0].body["event_id"] == str(probe.event_id)
    assert seen[1].body and seen[1].body["event_id"] == str(tagged.event_id)
    assert seen[2].body is None and seen[2].raw == b"\x00 not json"
    assert all(t.body is None or t.body["event_id"] != str(old.event_id) for t in seen)


async def test_tail_last_starts_with_the_last_messages_of_each_stream(provisioned: JetStreamContext) -> None:
    resolved = [sample(TrackResolved) for _ in range(3)]
    for event in resolved:
        await _publish(provisioned, event)
    seen: list[Tailed] = []
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(tail(provisioned, seen.append, stop, subject="resolve.>", last=2, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout=5)
        await wait_until(lambda: len(seen) == 2, timeout=10)
    finally:
        stop.set()
        await task
    assert [t.body["event_id"] for t in seen if t.body] == [str(e.event_id) for e in resolved[1:]]
