"""Messages on a subject no consumer reads are surfaced by `brainstream status` instead of sitting unseen."""

from __future__ import annotations

import asyncio

import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner

from contracts.resolve import TrackResolved
from infra.cli import app
from infra.ops.unconsumed import unconsumed_subjects
from tests.support.nats import NatsEndpoint
from tests.support.samples import sample


async def test_unknown_version_subjects_are_listed_with_their_counts(
    provisioned: JetStreamContext, monkeypatch: pytest.MonkeyPatch, nats_endpoint: NatsEndpoint
) -> None:
    event = sample(TrackResolved)
    await provisioned.publish(event.subject, event.to_json())  # read by acquire_resolved: not listed
    for _ in range(2):
        await provisioned.publish("resolve.track.resolved.v2", event.to_json())
    await provisioned.publish("resolve.track.resovled", event.to_json())
    await provisioned.publish("deadletter.resolve.track.resolved", b"x")  # letters are read through dlq
    assert await unconsumed_subjects(provisioned) == {"resolve.track.resolved.v2": 2, "resolve.track.resovled": 1}

    monkeypatch.setenv("NATS_URL", nats_endpoint.url)
    shown = await asyncio.to_thread(CliRunner().invoke, app, ["status"], env={"COLUMNS": "200"})
    assert "Subjects no consumer reads" in shown.stdout and "resolve.track.resolved.v2" in shown.stdout
