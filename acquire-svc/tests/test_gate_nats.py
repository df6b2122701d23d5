"""The gate and the negative cache on a real nats-server: two concurrent requests for one MBID, 50 times over,
give exactly one download each time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
from nats.js import JetStreamContext

from acquire_fakes import ALL_CODECS, FakeCovers, FileBackend, make_resolved, make_track
from acquire_svc.adapters.kv import KvGate, KvNegativeCache, KvOwnedIndex
from acquire_svc.adapters.probe import probe
from acquire_svc.adapters.staging import Staging
from acquire_svc.adapters.tagger import Tagger
from acquire_svc.domain.gate import GateState
from acquire_svc.domain.validation import Rules
from acquire_svc.service import AcquireService, Options
from contracts.acquire import AcquisitionSkipped, RejectionReason, SkipReason, TrackTagged
from contracts.base import Message
from contracts.common import CandidateSource
from tests.support.audio import make_audio
from tests.support.nats import NatsEndpoint


async def service(
    js: JetStreamContext, backend: FileBackend, staging: Path, published: list[Message]
) -> AcquireService:
    async def publish(event: Message) -> None:
        await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})
        published.append(event)

    area = Staging(staging)
    return AcquireService(
        gate=await KvGate().bind(js),
        negative=await KvNegativeCache().bind(js),
        owned=await KvOwnedIndex().bind(js),
        backends={"files": backend},
        staging=area,
        tagger=Tagger(area.partial),
        probe=probe,
        covers=FakeCovers(),
        rules=Rules(allowed_codecs=ALL_CODECS, min_bitrate_kbps=96),
        options=Options(max_attempts=3, backends=lambda: ["files"], album_mbid=lambda: True),
        publish=publish,
    )


async def test_two_concurrent_requests_give_one_download_50_times(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path
) -> None:
    src = make_audio(tmp_path / "src/a.mp3", "mp3", 3.0)
    # two processes' worth: separate connections, so the two creates really race at the server
    nc_a = await nats.connect(nats_endpoint.url)
    nc_b = await nats.connect(nats_endpoint.url)
    try:
        published: list[Message] = []
        backend_a = FileBackend(files=[("Believer", src)])
        backend_b = FileBackend(files=[("Believer", src)])
        a = await service(nc_a.jetstream(), backend_a, tmp_path / "staging", published)
        b = await service(nc_b.jetstream(), backend_b, tmp_path / "staging", published)
        for i in range(50):
            track = make_track()
            first = make_resolved(track)
            second = make_resolved(track, origin=CandidateSource.MANUAL)
            before = len(backend_a.fetched) + len(backend_b.fetched)
            await asyncio.gather(a.handle(first, last_try=False), b.handle(second, last_try=False))
            downloads = len(backend_a.fetched) + len(backend_b.fetched) - before
            assert downloads == 1, f"round {i}: {downloads} downloads"
            mine = [
                e
                for e in published
                if getattr(e, "correlation_id", None) in (first.correlation_id, second.correlation_id)
            ]
            assert sum(isinstance(e, TrackTagged) for e in mine) == 1, f"round {i}"
            skips = [e for e in mine if isinstance(e, AcquisitionSkipped)]
            assert [s.reason for s in skips] == [SkipReason.ALREADY_IN_FLIGHT], f"round {i}"
        # both sides won some races: the test exercised both orders
        assert backend_a.fetched and backend_b.fetched
    finally:
        await nc_a.close()
        await nc_b.close()


async def test_gate_entry_owned_and_negative_buckets(provisioned: JetStreamContext, tmp_path: Path) -> None:
    js = provisioned
    gate = await KvGate().bind(js)
    track = make_track()
    ev = make_resolved(track)
    decision, entry = await gate.enter(track.recording_mbid, ev.event_id, ev.correlation_id, manual=False)
    assert decision.value == "proceed" and entry.state is GateState.IN_FLIGHT
    again, _ = await gate.enter(track.recording_mbid, ev.event_id, ev.correlation_id, manual=False)
    assert again.value == "proceed"  # a redelivery of the creating message resumes
    other = make_resolved(track, origin=CandidateSource.MANUAL)
    skip, existing = await gate.enter(track.recording_mbid, other.event_id, other.correlation_id, manual=True)
    assert skip.value == "skip" and existing.correlation_id == ev.correlation_id
    await gate.mark(track.recording_mbid, GateState.FAILED, "attempts_exhausted")
    reopened, entry = await gate.enter(track.recording_mbid, other.event_id, other.correlation_id, manual=True)
    assert reopened.value == "proceed" and entry.attempts == 2 and entry.correlation_id == other.correlation_id
    stored = await gate.get(track.recording_mbid)
    assert stored is not None and stored.owner_event_id == other.event_id

    negative = await KvNegativeCache().bind(js)
    assert not await negative.contains("yt-dlp", "https://example.org/watch?v=x")
    await negative.add("yt-dlp", "https://example.org/watch?v=x", track.recording_mbid, RejectionReason.UNREADABLE, "")
    assert await negative.contains("yt-dlp", "https://example.org/watch?v=x")

    owned = await KvOwnedIndex().bind(js)
    assert not await owned.owns(track.recording_mbid)
    kv = await js.key_value("library_owned")
    await kv.put(str(track.recording_mbid), b'{"track_id": "t1", "path": "A/B/01 C.mp3"}')
    assert await owned.owns(track.recording_mbid)
