"""The wired service on a real nats-server: starts and is healthy with no user, picks up a user from the live
settings without a restart, turns scrobbles into listens once, and runs on demand."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from nats.js import JetStreamContext

from contracts.gateway import ScrobbleSubmitted, StartRun
from contracts.library import ScrobbleRecorded
from contracts.livesettings import PIPELINE_KEY, PipelineSettings, UserAccounts, user_key
from infra.http import HttpSettings
from infra.provision import provision
from ingest_svc.app import Ingest
from ingest_svc.settings import Settings
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .fakes import FakeListenBrainz, JsPublisher, lb_listen, mbid, stream_events

T0 = 1_700_000_000


def settings(nats: NatsEndpoint, web: FakeWeb, **extra: object) -> Settings:
    values: dict[str, object] = {
        "NATS_URL": nats.url,
        "BRAINSTREAM_LISTENBRAINZ_URL": web.base_url,
        "BRAINSTREAM_LASTFM_URL": web.url("/2.0/"),
        "BRAINSTREAM_SPOTIFY_API_URL": web.url("/v1"),
        "BRAINSTREAM_SPOTIFY_ACCOUNTS_URL": web.base_url,
        "BRAINSTREAM_LISTENBRAINZ_MIN_INTERVAL": 0,
        "BRAINSTREAM_RUN_INTERVAL": 3600,
        "BRAINSTREAM_LISTEN_INTERVAL": 3600,
        "BRAINSTREAM_RUN_SIZE": 5,
        "BRAINSTREAM_LISTENBRAINZ_USER": None,
        "BRAINSTREAM_LASTFM_USER": None,
        "BRAINSTREAM_SPOTIFY_REFRESH_TOKEN": None,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


FAST = HttpSettings(BRAINSTREAM_HTTP_BACKOFF=0.01, BRAINSTREAM_HTTP_TIMEOUT=1.0, BRAINSTREAM_HTTP_RETRIES=1)


async def _events(js: JetStreamContext, subject: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(b) for b in await stream_events(js, subject.split(".")[0].upper(), subject)]


class Apps:
    """Ingest processes started by a test (in this process), stopped at its end."""

    def __init__(self, nats: NatsEndpoint, web: FakeWeb) -> None:
        self.nats, self.web = nats, web
        self.running: dict[Ingest, asyncio.Task[None]] = {}

    async def __call__(self, **extra: object) -> Ingest:
        app = Ingest(settings(self.nats, self.web, **extra), FAST)
        await app.runtime.start()
        task = asyncio.create_task(app.background())
        self.running[app] = task
        return app

    async def stop(self, app: Ingest) -> None:
        task = self.running.pop(app)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await app.runtime.stop()


@pytest.fixture
async def started(provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web: FakeWeb):  # type: ignore[no-untyped-def]
    apps = Apps(nats_endpoint, fake_web)
    yield apps
    for app in list(apps.running):
        await apps.stop(app)


async def test_no_user_starts_healthy_then_a_live_user_is_picked_up(
    started,
    provisioned: JetStreamContext,
    fake_web: FakeWeb,  # type: ignore[no-untyped-def]
) -> None:
    FakeListenBrainz(
        fake_web,
        cf=[mbid(i) for i in range(20)],
        radio=[mbid(i, "radio") for i in range(5)],
        listens=[lb_listen(T0 + i, i) for i in range(7)],
    )
    app = await started()
    report = await app.runtime.health()
    assert report.status.value == "ok"
    assert "nothing to poll" in report.checks["sources"]["note"]
    assert fake_web.requests == []

    settings_kv = await provisioned.key_value("settings")
    live = PipelineSettings(run_size=10, cf_ratio=0.7, playlists_ratio=0.0)
    await settings_kv.put(PIPELINE_KEY, live.model_dump_json().encode())
    await settings_kv.put(
        user_key("alice"), UserAccounts(username="alice", listenbrainz_user="alice").model_dump_json().encode()
    )
    candidates = await wait_until(
        lambda: _events(provisioned, "ingest.candidate.discovered"), predicate=lambda e: len(e) >= 10
    )
    assert sorted(c["source"] for c in candidates).count("cf") == 7  # the live ratio and size, no restart
    await wait_until(lambda: _events(provisioned, "ingest.listen.recorded"), predicate=lambda e: len(e) == 7)
    report = await app.runtime.health()
    assert report.status.value == "ok"
    assert report.checks["sources"]["sources"]["alice/listenbrainz"]["last_success"]
    assert report.checks["sources"]["sources"]["alice/cf"]["last_success"]


async def test_scrobbles_become_one_listen_each_and_a_run_can_be_requested(
    started,
    provisioned: JetStreamContext,
    fake_web: FakeWeb,  # type: ignore[no-untyped-def]
) -> None:
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(20)], radio=[mbid(i, "radio") for i in range(5)])
    await started(BRAINSTREAM_LISTENBRAINZ_USER="alice", BRAINSTREAM_ADMIN_USER="alice")
    await wait_until(lambda: _events(provisioned, "ingest.run.completed"), predicate=lambda e: len(e) == 1)

    pub = JsPublisher(provisioned)
    played = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)
    song = ScrobbleSubmitted(user="alice", song_id="tr-1", played_at=played, artist="A", title="Song", client="DSub")
    await pub.publish(song)
    await pub.publish(song.model_copy(update={"event_id": uuid.uuid4()}))  # the client sent it twice
    await pub.publish(ScrobbleRecorded(user="alice", track_id="tr-1", played_at=played, artist="A", title="Song"))
    await pub.publish(
        ScrobbleRecorded(user="alice", track_id="tr-1", played_at=played.replace(hour=21), artist="A", title="Song")
    )
    await wait_until(lambda: _events(provisioned, "ingest.listen.recorded"), predicate=lambda e: len(e) >= 2)
    await wait_until(
        lambda: provisioned.consumer_info("LIBRARY", "ingest_library_scrobbles"),
        predicate=lambda i: i.num_pending == 0 and i.num_ack_pending == 0,
    )
    await wait_until(
        lambda: provisioned.consumer_info("GATEWAY", "ingest_scrobbles"),
        predicate=lambda i: i.num_pending == 0 and i.num_ack_pending == 0,
    )
    listens = await _events(provisioned, "ingest.listen.recorded")
    assert sorted(e["listened_at"][:16] for e in listens) == ["2026-11-01T20:00", "2026-11-01T21:00"]
    assert all(e["source"] == "subsonic" and e["user"] == "alice" for e in listens)

    await pub.publish(StartRun(user="alice"))
    runs = await wait_until(lambda: _events(provisioned, "ingest.run.started"), predicate=lambda e: len(e) == 2)
    assert [r["trigger"] for r in runs] == ["schedule", "manual"]
    await wait_until(lambda: _events(provisioned, "ingest.run.completed"), predicate=lambda e: len(e) == 2)
    cands = await _events(provisioned, "ingest.candidate.discovered")
    assert len({c["recording_mbid"] for c in cands}) == len(cands)  # the second run went on, not repeated


async def test_runs_without_an_account_or_with_listenbrainz_down_fail_with_their_reason(
    started,
    provisioned: JetStreamContext,
    fake_web: FakeWeb,  # type: ignore[no-untyped-def]
) -> None:
    fake_web.reply("GET", "/1/cf/recommendation/user/alice/recording", Reply.html(503, "<html>down</html>"))
    fake_web.reply("GET", "/1/stats/user/alice/artists", Reply.html(503, "<html>down</html>"))
    await started(BRAINSTREAM_LISTENBRAINZ_USER="alice", BRAINSTREAM_ADMIN_USER="alice")
    pub = JsPublisher(provisioned)
    await pub.publish(StartRun(user="bob"))  # bob has no ListenBrainz account
    failed = await wait_until(
        lambda: _events(provisioned, "ingest.run.failed"),
        predicate=lambda e: {r["user"] for r in e} >= {"alice", "bob"},
    )
    bob = next(r for r in failed if r["user"] == "bob")
    assert bob["reason"] == "no_account" and bob["trigger"] == "manual"
    assert bob["detail"].startswith("no ListenBrainz account")
    alice = next(r for r in failed if r["user"] == "alice")  # the scheduled run, with ListenBrainz answering 503
    assert alice["reason"] == "unavailable" and "ListenBrainz unavailable: HTTP 503" in alice["detail"]
    assert await _events(provisioned, "ingest.run.completed") == []


async def test_a_restart_does_not_run_again_before_the_interval_is_over(
    started, provisioned: JetStreamContext, fake_web: FakeWeb
) -> None:
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(20)], radio=[mbid(i, "radio") for i in range(5)])
    await started(BRAINSTREAM_LISTENBRAINZ_USER="alice", BRAINSTREAM_ADMIN_USER="alice")
    await wait_until(lambda: _events(provisioned, "ingest.run.completed"), predicate=lambda e: len(e) == 1)
    restarted = await started(BRAINSTREAM_LISTENBRAINZ_USER="alice", BRAINSTREAM_ADMIN_USER="alice")
    wait = await (await restarted.scheduler()).scheduled_runs()
    assert 3000 < wait <= 3600  # due one interval after the first run, which the cursor remembers
    assert len(await _events(provisioned, "ingest.run.started")) == 1


async def test_a_missing_bucket_shows_in_health_until_provisioned(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web: FakeWeb
) -> None:
    await provisioned.delete_key_value("listen_gate")  # provisioned by an older version, say
    app = Ingest(settings(nats_endpoint, fake_web), FAST)
    # the runtime's on-connect wiring retries until the bucket exists; consumers start only after it
    starting = asyncio.create_task(app.runtime.start())
    task: asyncio.Task[None] | None = None
    try:
        report = await wait_until(
            app.runtime.health, predicate=lambda r: r.checks.get("wiring", {}).get("status") == "unhealthy"
        )
        assert report.status.value == "unhealthy" and "NotFound" in report.checks["wiring"]["error"]
        assert not starting.done()
        await provision(provisioned)
        await asyncio.wait_for(starting, timeout=40)
        task = asyncio.create_task(app.background())
        report = await wait_until(app.runtime.health, predicate=lambda r: r.status.value == "ok", timeout=15)
        assert "nothing to poll" in report.checks["sources"]["note"]
        assert report.checks["wiring"]["wired"] is True
    finally:
        for job in (task, starting):
            if job is not None and not job.done():
                job.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await job
        await app.runtime.stop()


async def test_two_processes_share_the_schedule_and_the_standby_takes_over(
    started, provisioned: JetStreamContext, fake_web: FakeWeb
) -> None:
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(40)], radio=[mbid(i, "radio") for i in range(5)])
    env = {"BRAINSTREAM_LISTENBRAINZ_USER": "alice", "BRAINSTREAM_ADMIN_USER": "alice", "BRAINSTREAM_INGEST_LEASE": 1}
    first = await started(**env)
    second = await started(**env)
    s1, s2 = await first.scheduler(), await second.scheduler()
    await wait_until(lambda: s1.leader != s2.leader, timeout=10)
    leader, standby = (first, second) if s1.leader else (second, first)
    await wait_until(lambda: _events(provisioned, "ingest.run.completed"), predicate=lambda e: len(e) == 1)
    report = await standby.runtime.health()
    assert report.status.value == "ok" and "standby" in report.checks["sources"]["note"]

    # the leader stops; the standby takes the lease and the schedule with it
    await started.stop(leader)
    await wait_until(lambda: standby._scheduler is not None and standby._scheduler.leader, timeout=10)
    report = await standby.runtime.health()
    assert "sources" in report.checks["sources"]  # now it polls and reports each source
