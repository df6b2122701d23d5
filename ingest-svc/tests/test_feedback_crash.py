"""`python -m ingest_svc` SIGKILLed after ListenBrainz accepted a hate's feedback `-1` and before the message was
acked: after a restart, ListenBrainz has received the `-1` exactly once, `FeedbackSent` is published, and the `-1`
read back on the next run is not taken for the user's own."""

from __future__ import annotations

import os
import signal
import uuid
from pathlib import Path

from nats.js import JetStreamContext

from contracts.discovery import DiscoveryHated, FeedbackReceived, FeedbackSent
from contracts.topology import CONSUMERS
from infra.provision import consumer_config
from tests.support.fakeweb import FakeWeb
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .fakes import FakeListenBrainz, stream_events
from .test_forwarding_crash import Proc

FEEDBACK = next(c for c in CONSUMERS if c.durable == "ingest_feedback")
HATED = uuid.UUID("5b11f4ce-a62d-471e-81fc-a69a8278c7da")


async def _settled(js: JetStreamContext) -> bool:
    info = await js.consumer_info("LIBRARY", FEEDBACK.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_sigkill_between_the_feedback_post_and_the_ack_sends_it_once(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path
) -> None:
    js = provisioned
    # a short ack wait, so the killed process's message comes back within the test
    await js.add_consumer("LIBRARY", consumer_config(FEEDBACK.model_copy(update={"ack_wait_s": 2.0})))
    with FakeWeb() as web:
        lb = FakeListenBrainz(web, hang_after_accept_s=60.0)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_")}
        env |= {
            "NATS_URL": nats_endpoint.url,
            "BRAINSTREAM_DATA_DIR": str(tmp_path / "data"),
            "BRAINSTREAM_LOG_JSON": "0",
            "BRAINSTREAM_CONTACT": "ops@example.org",
            "BRAINSTREAM_HTTP_TIMEOUT": "90",
            "BRAINSTREAM_ADMIN_USER": "alice",
            "BRAINSTREAM_LISTENBRAINZ_URL": web.base_url,
            "BRAINSTREAM_LISTENBRAINZ_USER": "alice",
            "BRAINSTREAM_LISTENBRAINZ_TOKEN": "lb-token-alice",
            "BRAINSTREAM_LISTENBRAINZ_MIN_INTERVAL": "0",
            "BRAINSTREAM_RUN_INTERVAL": "1",
            "BRAINSTREAM_INGEST_LEASE": "3",  # the killed process's lease on the scheduled runs runs out soon
        }
        hate = DiscoveryHated(user="alice", track_id="tr-1", recording_mbid=HATED, artist="Nirvana", how="ui")
        first = Proc(env, tmp_path / "first.log")
        try:
            await js.publish(hate.subject, hate.to_json(), headers={"Nats-Msg-Id": str(hate.event_id)})
            await wait_until(lambda: len(lb.feedback), timeout=60, interval=0.1)
        finally:
            first.stop(signal.SIGKILL)  # ListenBrainz has it; the ledger says "sending"; the message is not acked

        lb.hang_after_accept_s = 0.0
        second = Proc(env, tmp_path / "second.log")
        try:
            await wait_until(lambda: _settled(js), timeout=60, interval=0.2)
            await wait_until(
                lambda: stream_events(js, "INGEST", FeedbackSent.subject), timeout=30, predicate=lambda found: found
            )
            # a run after the restart reads ListenBrainz's feedback back: the -1 sent from here is not the user's
            runs = len(web.requests_for("GET", "/1/feedback/user/{user}/get-feedback"))
            await wait_until(
                lambda: len(web.requests_for("GET", "/1/feedback/user/{user}/get-feedback")),
                timeout=30,
                predicate=lambda n: n >= runs + 2,
            )
        finally:
            second.stop(signal.SIGTERM)
        assert lb.feedback_posts() == [{"recording_mbid": str(HATED), "score": -1}]
        assert [(f["recording_mbid"], f["score"]) for f in lb.feedback] == [(str(HATED), -1)]
        (sent,) = [FeedbackSent.from_json(b) for b in await stream_events(js, "INGEST", FeedbackSent.subject)]
        assert (sent.user, sent.recording_mbid, sent.score, sent.cause) == ("alice", HATED, -1, "hated")
        assert await stream_events(js, "INGEST", FeedbackReceived.subject) == []
        logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
        assert "lb-token-alice" not in logs
        assert "not sent again" in (tmp_path / "second.log").read_text()
