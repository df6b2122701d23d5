"""The discovery lifecycle on a real nats-server (real KV buckets) against a loopback ListenBrainz: the gate
library-svc writes read before a run, feedback sent once through the `feedback_ledger`, and feedback given on the
website read back once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from nats.js import JetStreamContext

from contracts.common import CandidateSource
from contracts.discovery import (
    DISCOVERY_BUCKET,
    CandidateExcluded,
    DiscoveryHated,
    DiscoveryKept,
    DiscoveryRestored,
    FeedbackReceived,
    FeedbackSent,
    KeepReason,
    OwnedTrackRecommended,
    pause_key,
    tombstone_key,
)
from contracts.ingest import CandidateDiscovered
from contracts.livesettings import UserAccounts
from infra.http import ApiClient, HttpSettings, IntervalLimiter, SourceUnavailable
from ingest_svc.adapters.kv import KvCursorStore, KvDiscoveryGate, KvForwardLedger, KvKnownRecordings
from ingest_svc.adapters.listenbrainz import ListenBrainz, ListenBrainzFeedback
from ingest_svc.health import SourceHealth
from ingest_svc.service import RecommendationService
from ingest_svc.service.feedback import FeedbackReader, FeedbackSender, SentElsewhere
from tests.support.fakeweb import FakeWeb, Reply

from .fakes import FakeListenBrainz, RecordingPublisher, generated_playlist, mbid
from .test_discovery_runs import cfg

ALICE = UserAccounts(username="alice", listenbrainz_user="alice", listenbrainz_token="lb-token-alice")
ONCE = HttpSettings(BRAINSTREAM_CONTACT="ops@example.org", BRAINSTREAM_HTTP_TIMEOUT=0.5, BRAINSTREAM_HTTP_RETRIES=0)
HATED = uuid.UUID("5b11f4ce-a62d-471e-81fc-a69a8278c7da")


async def test_the_gate_reads_tombstones_pause_and_hated_artists(provisioned: JetStreamContext) -> None:
    kv = await provisioned.key_value(DISCOVERY_BUCKET)
    await kv.put(tombstone_key("alice", mbid(1)), json.dumps({"artist": "Nickelback", "reason": "hated"}).encode())
    await kv.put(tombstone_key("alice", mbid(2)), json.dumps({"artist": "Old Band", "reason": "unkept"}).encode())
    await kv.put(tombstone_key("alice", mbid(3)), b"1")  # a bare key is a tombstone too
    await kv.put(tombstone_key("bob", mbid(4)), json.dumps({"artist": "Bob's Hate", "reason": "hated"}).encode())
    gate = await KvDiscoveryGate.open(provisioned)
    assert await gate.paused() is None
    stones = await gate.tombstones("alice", [mbid(i) for i in range(6)])
    assert set(stones) == {mbid(1), mbid(2), mbid(3)}
    assert (stones[mbid(1)].artist, stones[mbid(1)].reason) == ("Nickelback", "hated")
    assert stones[mbid(3)].artist is None
    assert await gate.hated_artists("alice") == {"Nickelback"}
    assert await gate.hated_artists("carol") == set()
    await kv.put(pause_key(), b"discoveries use 21 GB of 20 GB")
    assert await gate.paused() == "discoveries use 21 GB of 20 GB"
    await kv.delete(pause_key())
    assert await gate.paused() is None


async def test_a_run_on_real_buckets_screens_and_recommends_owned_again(
    provisioned: JetStreamContext, fake_web: FakeWeb, lb_client: ApiClient
) -> None:
    js = provisioned
    gate_kv, owned_kv = await js.key_value(DISCOVERY_BUCKET), await js.key_value("library_owned")
    await gate_kv.put(tombstone_key("alice", mbid(0)), json.dumps({"artist": "X", "reason": "unkept"}).encode())
    await owned_kv.put(str(mbid(1)), json.dumps({"track_id": "tr-1", "path": "A/B/01.flac"}).encode())
    jams = [(mbid(i, "jams"), f"Artist {i}") for i in range(10)]
    FakeListenBrainz(
        fake_web,
        cf=[mbid(i) for i in range(50)],
        radio=[],
        playlists=[generated_playlist("weekly-jams", jams)],
    )
    pub = RecordingPublisher()
    svc = RecommendationService(
        ListenBrainz(lb_client),
        await KvCursorStore.open(js),
        await KvKnownRecordings.open(js),
        pub,
        SourceHealth(),
        gate=await KvDiscoveryGate.open(js),
    )
    await svc.run("alice", ALICE, cfg(run_size=10, cf_ratio=1.0, playlists_ratio=0.5))
    offered = [(e.source, e.recording_mbid) for e in pub.of(CandidateDiscovered)]
    assert [m for s, m in offered if s == CandidateSource.CF] == [mbid(i) for i in range(2, 7)]
    assert [m for s, m in offered if s == CandidateSource.PLAYLISTS] == [m for m, _ in jams[:5]]
    (excluded,) = pub.of(CandidateExcluded)
    assert (excluded.recording_mbid, excluded.reason) == (mbid(0), "tombstone")
    (again,) = pub.of(OwnedTrackRecommended)
    assert (again.recording_mbid, again.track_id) == (mbid(1), "tr-1")


@pytest.fixture
async def feedback(
    provisioned: JetStreamContext,
) -> AsyncIterator[tuple[FeedbackSender, FeedbackReader, FakeListenBrainz, RecordingPublisher]]:
    with FakeWeb() as web:
        lb = FakeListenBrainz(web)
        async with (
            ApiClient("listenbrainz", web.base_url, ONCE, limiter=IntervalLimiter(0.0)) as write,
            ApiClient("listenbrainz", web.base_url, ONCE, limiter=IntervalLimiter(0.0)) as read,
        ):
            ledger = await KvForwardLedger.open(provisioned, "feedback_ledger")
            pub = RecordingPublisher()
            sender = FeedbackSender(ListenBrainzFeedback(write, read), ledger, pub)
            reader = FeedbackReader(ListenBrainz(read), await KvCursorStore.open(provisioned), ledger, pub, page_size=2)
            yield sender, reader, lb, pub


def hated(how: str = "ui") -> DiscoveryHated:
    return DiscoveryHated(user="alice", track_id="tr-1", recording_mbid=HATED, artist="Nirvana", how=how)


async def test_a_hate_sends_minus_one_once(feedback: Any) -> None:
    sender, _, lb, pub = feedback
    event = hated()
    assert await sender.send(event, ALICE)
    assert not await sender.send(event, ALICE)  # a redelivery sends nothing again
    assert lb.feedback_posts() == [{"recording_mbid": str(HATED), "score": -1}]
    assert [(f["recording_mbid"], f["score"]) for f in lb.feedback] == [(str(HATED), -1)]
    (sent,) = pub.of(FeedbackSent)
    assert (sent.user, sent.recording_mbid, sent.score, sent.cause, sent.causation_id) == (
        "alice",
        HATED,
        -1,
        "hated",
        event.event_id,
    )


async def test_rate_limited_feedback_is_retried_and_lands_once(feedback: Any) -> None:
    sender, _, lb, _ = feedback
    lb.before = [Reply(429, json={"code": 429, "error": "Too many requests"}, headers={"X-RateLimit-Reset-In": "3"})]
    event = hated()
    with pytest.raises(SourceUnavailable) as caught:
        await sender.send(event, ALICE)  # raised: the consumer redelivers it later
    assert caught.value.reason == "rate_limited"
    assert lb.feedback == []
    assert await sender.send(event, ALICE)  # the redelivery: ListenBrainz has no -1 yet, so it is sent
    assert [(f["recording_mbid"], f["score"]) for f in lb.feedback] == [(str(HATED), -1)]
    assert len(lb.feedback_posts()) == 2  # the refused one and the accepted one


async def test_keep_hate_restore_send_each_score_in_turn(feedback: Any) -> None:
    sender, _, lb, pub = feedback
    kept = DiscoveryKept(user="alice", track_id="tr-1", recording_mbid=HATED, reason=KeepReason.STARRED)
    restored = DiscoveryRestored(user="alice", track_id="tr-1", recording_mbid=HATED, path="N/N/01.flac")
    assert await sender.send(kept, ALICE)
    assert await sender.send(hated(), ALICE)
    assert await sender.send(restored, ALICE)
    assert [p["score"] for p in lb.feedback_posts()] == [1, -1, 1]
    assert [(e.cause, e.score) for e in pub.of(FeedbackSent)] == [("kept", 1), ("hated", -1), ("restored", 1)]


async def test_a_restore_and_its_keep_handled_at_once_send_one_plus_one(feedback: Any) -> None:
    """library-svc publishes `DiscoveryRestored` and `DiscoveryKept` for one restore; the consumer may hand both to
    the sender at the same time. One +1 reaches ListenBrainz, not two."""
    sender, _, lb, pub = feedback
    restored = DiscoveryRestored(user="alice", track_id="tr-1", recording_mbid=HATED, path="N/N/01.flac")
    kept = DiscoveryKept(user="alice", track_id="tr-1", recording_mbid=HATED, reason=KeepReason.KEPT_IN_UI)
    done = await asyncio.gather(sender.send(restored, ALICE), sender.send(kept, ALICE))
    assert sorted(done) == [False, True]
    assert lb.feedback_posts() == [{"recording_mbid": str(HATED), "score": 1}]
    assert len(pub.of(FeedbackSent)) == 1


async def test_two_replicas_handed_a_restore_and_its_keep_at_once_send_one_plus_one(
    feedback: Any, provisioned: JetStreamContext
) -> None:
    """Two ingest-svc replicas share the ledger but not a lock: the first claims the entry, the other is told to come
    back (the consumer defers it) and then finds it sent."""
    first, _, lb, pub = feedback
    other = FeedbackSender(first.target, await KvForwardLedger.open(provisioned, "feedback_ledger"), pub)
    restored = DiscoveryRestored(user="alice", track_id="tr-1", recording_mbid=HATED, path="N/N/01.flac")
    kept = DiscoveryKept(user="alice", track_id="tr-1", recording_mbid=HATED, reason=KeepReason.KEPT_IN_UI)
    done = await asyncio.gather(first.send(restored, ALICE), other.send(kept, ALICE), return_exceptions=True)
    assert sum(1 for d in done if d is True) == 1
    assert all(d is True or d is False or isinstance(d, SentElsewhere) for d in done)
    assert not await other.send(kept, ALICE)  # the deferred one, back later: already sent
    assert lb.feedback_posts() == [{"recording_mbid": str(HATED), "score": 1}]
    assert len(pub.of(FeedbackSent)) == 1


async def test_what_came_from_listenbrainz_and_users_without_a_token_send_nothing(feedback: Any) -> None:
    sender, _, lb, pub = feedback
    loved = DiscoveryKept(user="alice", track_id="tr-1", recording_mbid=HATED, reason=KeepReason.LOVED)
    assert not await sender.send(loved, ALICE)  # +1 read back from ListenBrainz: not echoed
    assert not await sender.send(hated(how="listenbrainz"), ALICE)
    tokenless = UserAccounts(username="alice", listenbrainz_user="alice")
    assert not await sender.send(hated(), tokenless)  # skipped with a log line, no error
    assert not await sender.send(hated(), None)
    assert lb.feedback_posts() == [] and pub.of(FeedbackSent) == []


async def test_a_revoked_token_is_not_retried(feedback: Any) -> None:
    sender, _, lb, _ = feedback
    revoked = ALICE.model_copy(update={"listenbrainz_token": "revoked"})
    assert not await sender.send(hated(), revoked)
    assert not await sender.send(hated(), revoked)
    assert len(lb.feedback_posts()) == 1 and lb.feedback == []


async def test_feedback_given_on_the_website_is_read_back_once(feedback: Any) -> None:
    sender, reader, lb, pub = feedback
    loved = [mbid(i, "loved") for i in range(5)]
    lb.feedback = [{"recording_mbid": str(m), "score": 1, "created": 1_764_000_000 + i} for i, m in enumerate(loved)]
    lb.feedback.append({"recording_mbid": str(mbid(9, "hated")), "score": -1, "created": 1_764_000_002})
    assert await reader.read_back("alice", ALICE) == 6  # over three pages of two
    got = [(e.recording_mbid, e.score, int(e.created.timestamp())) for e in pub.of(FeedbackReceived)]
    assert sorted(got) == sorted(
        [(m, 1, 1_764_000_000 + i) for i, m in enumerate(loved)] + [(mbid(9, "hated"), -1, 1_764_000_002)]
    )
    assert all(e.user == "alice" for e in pub.of(FeedbackReceived))
    assert await reader.read_back("alice", ALICE) == 0  # the next run: nothing new
    # a love given later in the same second as the newest, and one after it
    lb.feedback.append({"recording_mbid": str(mbid(7, "loved")), "score": 1, "created": 1_764_000_004})
    lb.feedback.append({"recording_mbid": str(mbid(8, "loved")), "score": 1, "created": 1_764_000_005})
    assert await reader.read_back("alice", ALICE) == 2
    # feedback sent from here is not read back as the user's own
    assert await sender.send(hated(), ALICE)
    assert await reader.read_back("alice", ALICE) == 0
    ids = [e.event_id for e in pub.of(FeedbackReceived)]
    assert len(ids) == len(set(ids)) == 8


async def test_feedback_read_back_with_listenbrainz_down_keeps_the_cursor(feedback: Any) -> None:
    _, reader, lb, pub = feedback
    lb.feedback = [{"recording_mbid": str(mbid(1, "loved")), "score": 1, "created": 1_764_000_000}]
    lb.web.reply("GET", "/1/feedback/user/{user}/get-feedback", Reply.html(502, "<html>Bad Gateway</html>"))
    assert await reader.read_back("alice", ALICE) == 0
    assert [e.source for e in pub.events if hasattr(e, "source")] == ["feedback"]
