"""`brainstream dlq`: letters written by the real runtime are listed, shown and re-driven without loss."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner

from contracts.common import TrackQuery
from contracts.deadletter import DeadLetterReason
from contracts.gateway import RequestTrack
from contracts.topology import ConsumerSpec
from infra.cli import app
from infra.ops.deadletters import get_letter, list_letters, redrive, redrive_all
from infra.provision import consumer_config
from infra.runtime import Delivery, RuntimeSettings, ServiceRuntime
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

SPEC = ConsumerSpec(
    durable="test_dlq",
    stream="GATEWAY",
    filter_subjects=["gateway.track.requested"],
    service="resolve-svc",
    description="test consumer",
    max_deliver=2,
    backoff_s=[0.05],
)


def _request(title: str) -> RequestTrack:
    return RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(artist="Artist", title=title))


class Handler:
    def __init__(self) -> None:
        self.failing = True
        self.handled: list[RequestTrack] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, event: RequestTrack, delivery: Delivery) -> None:
        if self.failing and event.query.title == "poison":
            raise RuntimeError("MusicBrainz answered 503")
        self.handled.append(event)
        self.headers.append(dict(delivery._msg.headers or {}))


@pytest.fixture
async def dead(provisioned: JetStreamContext, nats_endpoint: NatsEndpoint):  # type: ignore[no-untyped-def]
    """A running consumer and two dead letters made by it: one exhausted, one undecodable."""
    await provisioned.add_consumer(SPEC.stream, consumer_config(SPEC))
    handler = Handler()
    runtime = ServiceRuntime("resolve-svc", "test", RuntimeSettings(NATS_URL=nats_endpoint.url))
    runtime.consume(SPEC.durable, handler, spec=SPEC)
    await runtime.start()
    poison = _request("poison")
    await runtime.publish(poison)
    await provisioned.publish("gateway.track.requested", b"\x00\xffgarbage", headers={"Nats-Msg-Id": "junk-1"})
    await wait_until(lambda: list_letters(provisioned), timeout=10, predicate=lambda ls: len(ls) == 2)
    try:
        yield provisioned, runtime, handler, poison
    finally:
        await runtime.stop()


async def test_list_shows_reason_deliveries_and_original_subject(dead) -> None:  # type: ignore[no-untyped-def]
    js, _, _, poison = dead
    letters = await list_letters(js)
    by_reason = {letter.info.reason: letter for letter in letters if letter.info}
    exhausted = by_reason[DeadLetterReason.EXHAUSTED]
    assert exhausted.info and exhausted.info.subject == "gateway.track.requested"
    assert exhausted.info.deliveries == 2
    assert "MusicBrainz answered 503" in exhausted.info.detail
    assert RequestTrack.from_json(exhausted.body) == poison
    assert by_reason[DeadLetterReason.UNDECODABLE].body == b"\x00\xffgarbage"
    assert [letter.id for letter in await list_letters(js, reason="undecodable")] == [
        by_reason[DeadLetterReason.UNDECODABLE].id
    ]
    assert await list_letters(js, subject="ingest.>") == []


async def test_cli_list_and_show(dead, monkeypatch: pytest.MonkeyPatch, nats_endpoint: NatsEndpoint) -> None:  # type: ignore[no-untyped-def]
    _, _, _, poison = dead
    monkeypatch.setenv("NATS_URL", nats_endpoint.url)
    runner = CliRunner()
    listed = await asyncio.to_thread(runner.invoke, app, ["dlq", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert {r["reason"] for r in rows} == {"exhausted", "undecodable"}
    assert all(r["subject"] == "gateway.track.requested" and r["consumer"] == "test_dlq" for r in rows)
    table = await asyncio.to_thread(runner.invoke, app, ["dlq", "list"], env={"COLUMNS": "200"})
    assert "exhausted" in table.stdout and "gateway.track.requested" in table.stdout

    exhausted = next(r for r in rows if r["reason"] == "exhausted")
    shown = await asyncio.to_thread(runner.invoke, app, ["dlq", "show", str(exhausted["id"])], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "Brainstream-DL-Reason" in shown.stdout and "exhausted" in shown.stdout
    assert str(poison.request_id) in shown.stdout  # the decoded body
    missing = await asyncio.to_thread(runner.invoke, app, ["dlq", "show", "999999"])
    assert missing.exit_code == 1


async def test_redrive_puts_the_message_back_with_a_fresh_id_and_removes_the_letter(dead) -> None:  # type: ignore[no-untyped-def]
    js, _, handler, poison = dead
    handler.failing = False  # the cause was fixed
    exhausted = (await list_letters(js, reason="exhausted"))[0]
    report = await redrive(js, [exhausted.id])
    assert report.redriven == [exhausted.id] and report.published == 1 and not report.failed
    await wait_until(lambda: [e for e in handler.handled if e == poison], timeout=10)
    headers = handler.headers[handler.handled.index(poison)]
    assert headers["Nats-Msg-Id"].startswith("redrive:GATEWAY:")
    assert headers["Nats-Msg-Id"] != str(poison.event_id)  # the original id would be dropped as a duplicate
    assert headers["Brainstream-Redriven-From"] == f"DEADLETTER#{exhausted.id}"
    assert not any(k.startswith("Brainstream-DL-") for k in headers)
    assert await get_letter(js, exhausted.id) is None
    assert [letter.info.reason for letter in await list_letters(js) if letter.info] == [DeadLetterReason.UNDECODABLE]


async def test_redrive_of_an_unknown_id_fails_without_touching_anything(dead) -> None:  # type: ignore[no-untyped-def]
    js, *_ = dead
    report = await redrive(js, [999_999])
    assert report.failed == {999_999: "no such dead letter"}
    assert len(await list_letters(js)) == 2


async def test_a_failed_republish_keeps_the_letter(provisioned: JetStreamContext) -> None:
    # a letter whose original subject no stream takes any more: the publish is refused, the letter must stay
    headers = {"Brainstream-DL-Reason": "exhausted", "Brainstream-DL-Subject": "retired.track.requested",
               "Brainstream-DL-Stream": "RETIRED", "Brainstream-DL-Sequence": "7"}  # fmt: skip
    ack = await provisioned.publish("deadletter.retired.track.requested", b"{}", headers=headers)
    report = await redrive_all(provisioned)
    assert list(report.failed) == [ack.seq] and "letter kept" in report.failed[ack.seq]
    assert report.redriven == []
    assert await get_letter(provisioned, ack.seq) is not None


async def test_redrive_all_puts_a_message_dead_lettered_by_two_consumers_back_once(
    provisioned: JetStreamContext,
) -> None:
    event = _request("twice")
    for consumer in ("gateway_view_gateway", "resolve_requests"):
        headers = {"Nats-Msg-Id": f"dl:GATEWAY:3:{consumer}", "Brainstream-DL-Reason": "exhausted",
                   "Brainstream-DL-Subject": event.subject, "Brainstream-DL-Stream": "GATEWAY",
                   "Brainstream-DL-Sequence": "3", "Brainstream-DL-Consumer": consumer}  # fmt: skip
        await provisioned.publish(f"deadletter.{event.subject}", event.to_json(), headers=headers)
    before = (await provisioned.stream_info("GATEWAY")).state.messages
    report = await redrive_all(provisioned, reason="exhausted")
    assert len(report.redriven) == 2 and report.published == 1
    assert (await provisioned.stream_info("GATEWAY")).state.messages == before + 1
    assert await list_letters(provisioned) == []
    again = await redrive_all(provisioned)
    assert again.published == 0


async def test_cli_redrive_needs_ids_or_all(monkeypatch: pytest.MonkeyPatch, nats_endpoint: NatsEndpoint) -> None:
    monkeypatch.setenv("NATS_URL", nats_endpoint.url)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["dlq", "redrive"])
    assert result.exit_code == 2
