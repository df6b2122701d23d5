"""The same guarantee with real processes: three `python -m resolve_svc`, each its own event loop and KV client,
share one MusicBrainz budget through the rate_limits bucket."""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from resolve_bus import outputs, publish
from resolve_catalog import RECORDINGS, mbid
from resolve_fakes import Fakes

from contracts.common import CandidateSource
from contracts.health import HealthReport, health_subject
from contracts.ingest import CandidateDiscovered
from contracts.resolve import TrackResolved
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint

SCALE = 5.0
TRACKS = 30


Start = Callable[[dict[str, str], Path], subprocess.Popen[bytes]]


async def ready_replicas(nc: NatsClient) -> int:
    """How many replicas answer health with their adapters wired (so all three compete for the first message)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish(health_subject("resolve-svc"), b"", reply=inbox)
    ready: set[str] = set()
    try:
        while True:
            msg = await sub.next_msg(timeout=0.5)
            report = HealthReport.model_validate_json(msg.data)
            if report.checks.get("resolve", {}).get("status") == "ok":
                ready.add(report.instance)
    except nats.errors.TimeoutError:
        return len(ready)
    finally:
        await sub.unsubscribe()


@pytest.fixture
def start_replica() -> Iterator[Start]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
        log = (cwd / f"replica-{len(procs)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "resolve_svc"], env=env, cwd=cwd, stdout=log, stderr=log)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def test_three_processes_share_one_musicbrainz_budget(
    provisioned: JetStreamContext,
    nats_endpoint: NatsEndpoint,
    nats_client: NatsClient,
    fake_web_factory: Callable[[], FakeWeb],
    start_replica: Start,
    tmp_path: Path,
) -> None:
    base = list(RECORDINGS.values())
    recordings = {}
    for i in range(TRACKS):
        doc = copy.deepcopy(base[i % len(base)])
        doc["id"] = mbid(f"process-{i}")
        recordings[doc["id"]] = doc
    fakes = Fakes(fake_web_factory, scale=SCALE, recordings=recordings)
    fakes.lb.route("GET", "/1/metadata/recording/", lambda r: Reply(json={}), limit=fakes.lb_limit)
    fakes.unlimited_stores()  # this test is about MusicBrainz: the stores must not be what it waits for
    env = {**os.environ, **fakes.env(nats_endpoint.url, **fakes.store_rates), "BRAINSTREAM_LOG_LEVEL": "WARNING"}
    # a contact of its own per replica, so the fake can tell who sent what. One message at a time per process: with
    # many workers, the replica that starts first could take in every message before the others ask.
    own = {"BRAINSTREAM_RESOLVE_FETCH_BATCH": "1", "BRAINSTREAM_RESOLVE_WORKERS": "1"}
    replicas = [
        start_replica({**env, **own, "BRAINSTREAM_CONTACT": f"replica-{n}@example.org"}, tmp_path) for n in range(3)
    ]
    for i, m in enumerate(recordings):
        event = CandidateDiscovered(
            recording_mbid=uuid.UUID(m), source=CandidateSource.CF, run_id=uuid.uuid4(), position=i
        )
        await publish(provisioned, event)
    got = await outputs(provisioned, TRACKS, timeout=60.0)
    assert all(p.poll() is None for p in replicas), "a replica died"
    assert fakes.mb.violations == []
    assert len(got) == TRACKS and all(isinstance(e, TrackResolved) for e in got)
    agents = {r.header("User-Agent") for r in fakes.mb.requests}
    lb_agents = {r.header("User-Agent") for r in fakes.lb.requests}
    assert len(agents) == 3, (
        agents,
        lb_agents,
        len(fakes.lb.requests),
    )  # every process sent MusicBrainz requests: the budget really was shared
    assert fakes.mb.count("GET", "/ws/2/recording/{mbid}") == TRACKS
