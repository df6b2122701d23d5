"""`brainstream scan` publishes the StartScan command that library-svc consumes."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext
from typer.testing import CliRunner

from contracts.gateway import StartScan
from infra.cli import app
from tests.support.nats import NatsEndpoint


async def test_scan_command_publishes_start_scan(nats_endpoint: NatsEndpoint, provisioned: JetStreamContext) -> None:
    env = {"NATS_URL": nats_endpoint.url}
    result = await asyncio.to_thread(CliRunner().invoke, app, ["scan", "--full"], env=env)
    assert result.exit_code == 0, result.output
    msg = await provisioned.get_last_msg("GATEWAY", StartScan.subject)
    command = StartScan.from_json(msg.data or b"")
    assert command.full is True and str(command.event_id) in result.output
