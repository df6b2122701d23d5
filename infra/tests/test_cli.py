"""The brainstream command: argument checking and status against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from typer.testing import CliRunner

from contracts.topology import CONSUMERS, STREAMS
from infra.cli import app
from infra.runner import parse_replicas, slot_env
from infra.runstate import RunState, write_state
from infra.status import gather_status
from tests.support.nats import NatsEndpoint


def test_parse_replicas_accepts_short_and_full_names() -> None:
    assert parse_replicas("resolve=3, acquire-svc=2") == {"resolve-svc": 3, "acquire-svc": 2}
    assert parse_replicas("") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [("resolver=2", "unknown service 'resolver'"), ("resolve=0", "at least 1"), ("gateway=10", "at most 9")],
)
def test_parse_replicas_rejects_bad_input_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_replicas(text)


async def test_status_lists_streams_consumers_and_missing_services(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint
) -> None:
    await provisioned.publish("gateway.scan.requested", b"{}")
    status = await gather_status(nats_endpoint.url, timeout=0.3)
    streams = {s["name"]: s for s in status["streams"]}
    assert set(streams) == {s.name for s in STREAMS}
    assert streams["GATEWAY"]["messages"] == 1
    consumers = {c["durable"]: c for c in status["consumers"]}
    assert set(consumers) == {c.durable for c in CONSUMERS}
    assert consumers["library_commands"]["pending"] == 1
    assert status["status"] == "degraded"  # no service runs in this test
    assert all(s["status"] == "missing" for s in status["services"].values())


def test_status_without_any_nats_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.setenv("BRAINSTREAM_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2
    assert "brainstream up" in result.output


@pytest.mark.parametrize("stale", [False, True], ids=["no-state", "stale-state"])
def test_no_nats_names_the_data_dir_it_looked_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stale: bool) -> None:
    # the usual cause: the command runs from another directory than `brainstream up`, so ./data is another one
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.setenv("BRAINSTREAM_DATA_DIR", str(tmp_path / "elsewhere"))
    if stale:  # a run that was killed left its state file behind
        write_state(
            RunState(nats_url="nats://127.0.0.1:1", http_url="", pid=2**22 + 1, embedded_nats=True),
            tmp_path / "elsewhere",
        )
    for args in (["status"], ["dlq", "list"], ["tail"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2, args
        text = " ".join(result.output.split())
        assert "BRAINSTREAM_DATA_DIR" in text and str(tmp_path / "elsewhere") in text, text
        assert ("not running" in text) == stale


def test_status_json_output(monkeypatch: pytest.MonkeyPatch, nats_endpoint: NatsEndpoint) -> None:
    monkeypatch.setenv("NATS_URL", nats_endpoint.url)
    result = CliRunner().invoke(app, ["status", "--json"])
    body = json.loads(result.stdout)
    assert body["nats_url"] == nats_endpoint.url
    assert result.exit_code == 1  # degraded: no services are running here


def test_gateway_replicas_get_a_port_and_a_read_model_each() -> None:
    assert parse_replicas("gateway=2") == {"gateway": 2}
    first, second = (slot_env("gateway", i, 2, 8080) for i in range(2))
    assert (first["BRAINSTREAM_HTTP_PORT"], second["BRAINSTREAM_HTTP_PORT"]) == ("8080", "8081")
    assert first["BRAINSTREAM_REPLICA_ID"] != second["BRAINSTREAM_REPLICA_ID"]
    assert slot_env("gateway", 0, 1, 8080) == {"BRAINSTREAM_REPLICA_SLOT": "gateway"}  # one gateway: as before
    assert "BRAINSTREAM_HTTP_PORT" not in slot_env("resolve-svc", 1, 2, 8080)
