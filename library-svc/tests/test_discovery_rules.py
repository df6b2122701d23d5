"""The lifecycle's pure rules: durations and sizes, which layer of settings wins, and what counts as one play."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.discovery import DiscoveryRules, parse_duration, parse_size
from library_svc.discovery.plays import Report, count_plays
from library_svc.discovery.rules import DEFAULTS, Rules, resolve
from library_svc.settings import Settings

T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("21d", timedelta(days=21)), ("12h", timedelta(hours=12)), ("90s", timedelta(seconds=90)), ("2w", timedelta(14))],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("20G", 20 << 30), ("500M", 500 << 20), ("800k", 800 << 10), ("123", 123)]
)
def test_sizes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["3 weeks", "21", "0d", "-1d", "d"])
def test_a_bad_duration_is_refused_with_what_to_write(bad: str) -> None:
    with pytest.raises(ValidationError, match="like 21d, 12h or 90s"):
        DiscoveryRules(keep_for=bad)
    with pytest.raises(ValidationError, match="like 21d, 12h or 90s"):
        Settings(BRAINSTREAM_DISCOVERY_TRASH_FOR=bad)


def test_a_bad_size_is_refused() -> None:
    with pytest.raises(ValidationError, match="like 20G, 500M or 800k"):
        DiscoveryRules(disk_budget="lots")
    with pytest.raises(ValidationError, match="like 20G, 500M or 800k"):
        Settings(BRAINSTREAM_DISCOVERY_DISK_BUDGET="20 gigs")
    assert DiscoveryRules(disk_budget="").disk_budget is None  # empty: no budget


def test_the_user_wins_then_the_pipeline_then_the_environment_then_the_defaults() -> None:
    env = DiscoveryRules(keep_plays=2, keep_for="14d", trash_for="3d")
    pipeline = DiscoveryRules(keep_for="10d", disk_budget="1G")
    user = DiscoveryRules(keep_for="30d", keep_rating=4)
    assert resolve(user, pipeline, env) == Rules(
        keep_plays=2, keep_rating=4, keep_for=timedelta(days=30), trash_for=timedelta(days=3), disk_budget=1 << 30
    )
    assert resolve(None, pipeline, env).keep_for == timedelta(days=10)
    assert resolve(None, None, None) == DEFAULTS == Rules()
    assert DEFAULTS.keep_for == timedelta(days=21) and DEFAULTS.trash_for == timedelta(days=7)
    assert (DEFAULTS.keep_plays, DEFAULTS.keep_rating, DEFAULTS.disk_budget) == (1, 3, None)


def r(source: str, seconds: float, duration_ms: int | None = 200_000, name: str = "") -> Report:
    return Report(name or f"{source}-{seconds}", source, T + timedelta(seconds=seconds), duration_ms)


@pytest.mark.parametrize(
    ("reports", "plays"),
    [
        # one play told by the built-in server and by ListenBrainz, a few seconds apart
        ([r("subsonic", 0), r("listenbrainz", 4)], 1),
        # one source never reports one play twice: a repeat
        ([r("listenbrainz", 0), r("listenbrainz", 205)], 2),
        ([r("listenbrainz", 0), r("listenbrainz", 30)], 2),
        # past the window: the second report is the repeat that began once the first play ended
        ([r("listenbrainz", 0), r("lastfm", 202)], 2),
        # Spotify stamps the end: its start is taken as the end less the duration
        ([r("listenbrainz", 0), r("spotify", 201)], 1),
        # a short interlude: the window is half its duration
        ([r("lastfm", 0, 40_000), r("subsonic", 25, 40_000)], 2),
        ([r("lastfm", 0, 40_000), r("subsonic", 15, 40_000)], 1),
        # no duration known: 60 s
        ([r("lastfm", 0, None), r("subsonic", 50, None)], 1),
        ([], 0),
    ],
)
def test_reports_of_one_play_from_two_sources_count_once(reports: list[Report], plays: int) -> None:
    assert count_plays(reports) == plays
    assert count_plays(reversed(reports)) == plays  # the order they arrived in does not matter


def test_a_trash_inside_the_music_folder_is_refused(tmp_path: Path) -> None:
    music = tmp_path / "music"
    with pytest.raises(ValidationError, match="inside the music folder"):
        Settings(BRAINSTREAM_MUSIC_DIR=music, BRAINSTREAM_DISCOVERY_TRASH_DIR=music / "Trash")
    hidden = Settings(BRAINSTREAM_MUSIC_DIR=music, BRAINSTREAM_DISCOVERY_TRASH_DIR=music / ".trash")  # scans skip it
    assert hidden.discovery_trash_dir == music / ".trash"
    ok = Settings(BRAINSTREAM_DATA_DIR=tmp_path, BRAINSTREAM_MUSIC_DIR=music)
    assert ok.discovery_trash_dir == tmp_path / "library" / "trash"
