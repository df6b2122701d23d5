"""`brainstream replay`: which projections it knows, and how it reads --since and --from-seq."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.ops.projections import discover
from infra.ops.replay import ReplayOptions, parse_from_seq, parse_since

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
STREAMS = ["INGEST", "RESOLVE", "ACQUIRE", "LIBRARY", "GATEWAY"]


def test_the_services_offer_their_projections() -> None:
    assert {"library", "gateway", "discoveries"} <= set(discover())


def test_an_unknown_projection_is_a_clear_error_naming_the_known_ones() -> None:
    result = CliRunner().invoke(app, ["replay", "catalogue"], env={"NATS_URL": "nats://127.0.0.1:1", "COLUMNS": "200"})
    assert result.exit_code == 2
    assert "no projection named 'catalogue'" in result.output
    assert "known projections: discoveries, gateway, history, library" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", NOW - timedelta(hours=2)),
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1.5d", NOW - timedelta(hours=36)),
        ("1w", NOW - timedelta(days=7)),
        ("2026-11-20T06:30:00Z", datetime(2026, 11, 20, 6, 30, tzinfo=UTC)),
        ("2026-11-20T08:30:00+02:00", datetime(2026, 11, 20, 6, 30, tzinfo=UTC)),
        ("2026-11-20 06:30", datetime(2026, 11, 20, 6, 30, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_since_takes_an_age_or_a_time(text: str, expected: datetime) -> None:
    assert parse_since(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "2 hours", "-2h", ""])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="--since"):
        parse_since(text, now=NOW)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], {}),
        (["120"], dict.fromkeys(STREAMS, 120)),
        (["library:40"], {"LIBRARY": 40}),
        (["5", "GATEWAY:9"], {**dict.fromkeys(STREAMS, 5), "GATEWAY": 9}),
    ],
)
def test_from_seq_is_for_every_stream_or_one(values: list[str], expected: dict[str, int]) -> None:
    assert parse_from_seq(values, STREAMS) == expected


@pytest.mark.parametrize("value", ["0", "LIBRARY:-1", "DEADLETTER:3", "LIBRARY:x", "x"])
def test_from_seq_refuses_what_it_cannot_use(value: str) -> None:
    with pytest.raises(ValueError, match="--from-seq"):
        parse_from_seq([value], STREAMS)


def test_only_a_run_without_a_start_rebuilds_from_nothing() -> None:
    assert ReplayOptions().from_start
    assert not ReplayOptions(from_seq={"LIBRARY": 3}).from_start
    assert not ReplayOptions(since=NOW).from_start
