"""Configuration (fail fast, the environment's user, live overrides), health staleness and loop supervision."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import ValidationError

from contracts.livesettings import PipelineSettings, UserAccounts
from infra.livesettings import LiveSettings
from ingest_svc.config import Config
from ingest_svc.health import SourceHealth
from ingest_svc.scheduler import supervise
from ingest_svc.settings import Settings

NONE = {
    "BRAINSTREAM_LISTENBRAINZ_USER": None,
    "BRAINSTREAM_LASTFM_USER": None,
    "BRAINSTREAM_LASTFM_API_KEY": None,
    "BRAINSTREAM_SPOTIFY_CLIENT_ID": None,
    "BRAINSTREAM_SPOTIFY_CLIENT_SECRET": None,
    "BRAINSTREAM_SPOTIFY_REFRESH_TOKEN": None,
}


def make(**values: object) -> Settings:
    return Settings(**{**NONE, **values})  # type: ignore[arg-type]


def test_a_missing_dependent_value_fails_fast_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match="BRAINSTREAM_LASTFM_API_KEY"):
        make(BRAINSTREAM_LASTFM_USER="me")
    with pytest.raises(ValidationError, match="BRAINSTREAM_SPOTIFY_CLIENT_SECRET"):
        make(BRAINSTREAM_SPOTIFY_REFRESH_TOKEN="r", BRAINSTREAM_SPOTIFY_CLIENT_ID="c")


def test_the_environment_describes_the_first_user_and_the_live_settings_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINSTREAM_LISTENBRAINZ_USER", "lb_me")
    monkeypatch.setenv("BRAINSTREAM_LISTENBRAINZ_URL", "http://127.0.0.1:9/lb")
    monkeypatch.setenv("BRAINSTREAM_ADMIN_USER", "me")
    s = Settings()
    assert s.listenbrainz_url == "http://127.0.0.1:9/lb"
    live = LiveSettings()
    config = Config(s, live)
    assert config.users()["me"].listenbrainz_user == "lb_me"
    assert config.run().run_size == 20 and config.run_interval_s == 6 * 3600
    live.apply("pipeline", PipelineSettings(run_size=7, run_interval_s=60, cf_ratio=0.5).model_dump_json().encode())
    live.apply("user.me", UserAccounts(username="me", listenbrainz_user="other").model_dump_json().encode())
    live.apply("user.bob", UserAccounts(username="bob", enabled=False).model_dump_json().encode())
    assert (config.run().run_size, config.run().cf_ratio, config.run_interval_s) == (7, 0.5, 60)
    assert {n: a.listenbrainz_user for n, a in config.users().items()} == {"me": "other"}


def test_a_live_document_without_accounts_keeps_the_environments(monkeypatch: pytest.MonkeyPatch) -> None:
    # the gateway creates the first admin's document with no accounts in it
    monkeypatch.setenv("BRAINSTREAM_LISTENBRAINZ_USER", "lb_me")
    monkeypatch.setenv("BRAINSTREAM_LISTENBRAINZ_TOKEN", "tok")
    monkeypatch.setenv("BRAINSTREAM_ADMIN_USER", "me")
    live = LiveSettings()
    config = Config(Settings(), live)
    live.apply("user.me", UserAccounts(username="me").model_dump_json().encode())
    me = config.users()["me"]
    assert (me.listenbrainz_user, me.listenbrainz_token) == ("lb_me", "tok")
    live.apply("user.me", UserAccounts(username="me", enabled=False).model_dump_json().encode())
    assert config.users() == {}  # an explicit value still wins


def test_no_account_at_all_is_a_valid_configuration() -> None:
    config = Config(make(), LiveSettings())
    assert config.users() == {}
    status, detail = SourceHealth().check()
    assert status.value == "ok" and "nothing to poll" in detail["note"]


def test_a_source_turns_unhealthy_when_its_last_success_is_older_than_twice_the_interval() -> None:
    now = [1000.0]
    health = SourceHealth(clock=lambda: now[0])
    health.expect("alice", "lastfm", 60)
    now[0] += 100
    assert health.check()[0].value == "ok"  # never polled yet, but not for long
    health.failure("alice", "lastfm", 60, "lastfm user.getRecentTracks: HTTP 200 private_user")
    now[0] += 30
    status, detail = health.check()
    assert status.value == "unhealthy"  # 130 s without a success, interval 60
    assert detail["sources"]["alice/lastfm"]["last_error"].endswith("private_user")
    health.success("alice", "lastfm", 60, 3)
    assert health.check()[0].value == "ok"
    now[0] += 119
    assert health.check()[0].value == "ok"
    now[0] += 2
    assert health.check()[0].value == "unhealthy"


async def test_a_crashing_loop_is_logged_with_its_traceback_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    done = asyncio.Event()

    async def loop() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise RuntimeError(f"bug number {len(runs)}")
        done.set()
        await asyncio.Event().wait()  # the third start stays up

    with caplog.at_level(logging.ERROR, logger="ingest_svc.scheduler"):
        task = asyncio.create_task(supervise("test", loop, first_delay_s=0.01))
        await asyncio.wait_for(done.wait(), timeout=5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    crashes = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert len(crashes) == 2
    assert all(r.exc_info and "bug number" in str(r.exc_info[1]) for r in crashes)
    assert runs == [0, 1, 2]
