"""`brainstream replay gateway`: the read model rebuilt from the five streams equals the one the gateway keeps live.

Real nats-server, real SQLite; the gateway runs with its consumers, the command runs in a process of its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats

from contracts.acquire import AcquisitionFailed, TrackDownloaded, TrackTagged
from contracts.base import Message
from contracts.delivery import AttemptFailed, MessageDeadLettered
from contracts.ingest import CandidateDiscovered, RecommendationRunCompleted, RecommendationRunStarted
from contracts.library import TrackImported, TrackRemoved
from contracts.resolve import TrackResolved
from gateway.readmodel.replayable import GatewayProjection
from tests.support.samples import sample
from tests.support.wait import wait_until

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def journey(run_id: uuid.UUID, n: int, *, ends: str) -> list[Message]:
    """One candidate's events, a minute apart: imported (then removed), or failed at acquisition."""
    cid, mbid = uuid.uuid4(), uuid.uuid4()
    at = T0 + timedelta(hours=n)
    track = sample(TrackResolved).track.model_dump(mode="json") | {
        "recording_mbid": str(mbid),
        "title": f"Song {n}",
        "artist": "Cold Harbour",
    }
    kinds: list[tuple[type[Message], dict[str, Any]]] = [
        (CandidateDiscovered, {"run_id": str(run_id), "recording_mbid": str(mbid)}),
        (TrackResolved, {"track": track}),
    ]
    if ends == "failed":
        kinds.append((AcquisitionFailed, {"recording_mbid": str(mbid)}))
    elif ends == "deadlettered":  # acquire-svc's attempts failed, then its message was dead-lettered
        fault = {"service": "acquire-svc", "consumer": "acquire_resolved", "error": "slskd unreachable: refused"}
        kinds.append((AttemptFailed, fault | {"attempt": 1, "max_attempts": 2, "retry_at": at.isoformat()}))
        kinds.append((MessageDeadLettered, fault | {"deliveries": 2, "reason": "exhausted", "letter_id": 7}))
    else:
        kinds += [(TrackDownloaded, {"recording_mbid": str(mbid)}), (TrackTagged, {"track": track})]
        kinds.append((TrackImported, {"recording_mbid": str(mbid), "track_id": f"tr-{n}", "path": f"a/{n}.mp3"}))
        if ends == "removed":
            kinds.append((TrackRemoved, {"recording_mbid": str(mbid), "track_id": f"tr-{n}", "path": f"a/{n}.mp3"}))
    events: list[Message] = []
    for i, (cls, fields) in enumerate(kinds):
        fields = {**fields, "correlation_id": str(cid), "occurred_at": (at + timedelta(minutes=i)).isoformat()}
        if events:
            fields["causation_id"] = str(events[-1].event_id)
        events.append(sample(cls, user="admin", **fields))
    return events


async def brainstream(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        *args,
        env={**os.environ, **env, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_replay_gives_the_live_read_model(gateway: Any, nats_endpoint: Any, tmp_path: Path) -> None:
    run_id = uuid.uuid4()
    events: list[Message] = [sample(RecommendationRunStarted, run_id=str(run_id), user="admin", occurred_at=T0)]
    for n, ends in enumerate(["imported", "failed", "removed", "imported", "deadlettered"], 1):
        events += journey(run_id, n, ends=ends)
    events.append(
        sample(RecommendationRunCompleted, run_id=str(run_id), user="admin", occurred_at=T0 + timedelta(days=1))
    )
    live_db = gateway.settings.data_dir / "gateway" / "gateway.db"
    projection = GatewayProjection(gateway.settings)

    nc = await nats.connect(nats_endpoint.url)
    js = nc.jetstream()
    try:
        # one at a time, each applied before the next: the live fold then sees them in the order they happened
        for event in events:
            ack = await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})
            await wait_until(
                lambda a=ack: asyncio.to_thread(projection.dump, live_db),
                timeout=20,
                predicate=lambda d, a=ack: (a.stream, a.seq) in {(s, q) for s, q in d["view_checkpoints"]},
            )
    finally:
        await nc.close()
    live = await asyncio.to_thread(projection.dump, live_db)
    assert len(live["view_tracks"]) == 5 and len(live["view_feed"]) == len(events)

    env = {"NATS_URL": nats_endpoint.url, "BRAINSTREAM_DATA_DIR": str(gateway.settings.data_dir)}
    code, _, err = await brainstream(env, "replay", "gateway")
    assert code == 2 and "gateway is running" in err, err  # the live store is the running gateway's

    fresh = tmp_path / "rebuilt.db"
    code, out, err = await brainstream(env, "replay", "gateway", "--into", str(fresh), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["read"] == len(events) and report["counts"]["journeys"] == 5
    streams = {"INGEST", "RESOLVE", "ACQUIRE", "LIBRARY", "GATEWAY", "DELIVERY"}
    assert {s["stream"] for s in report["streams"]} == streams
    rebuilt = await asyncio.to_thread(projection.dump, fresh)
    assert rebuilt == live
    states = sorted(row[3] for row in rebuilt["view_tracks"])  # (id, user, origin, state, …)
    assert states == ["failed", "failed", "imported", "imported", "removed"]
    reasons = {row[4] for row in rebuilt["view_tracks"] if row[3] == "failed"}
    assert "acquire gave up after 2 attempts: slskd unreachable: refused" in reasons
