"""`python -m ingest_svc` SIGKILLed after a target accepted a play and before the message was acked: after a
restart, the play has reached ListenBrainz once and Last.fm once, and the copy read back from ListenBrainz is never
sent back to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from contracts.topology import CONSUMERS
from infra.provision import consumer_config
from tests.support.fakeweb import FakeWeb
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .forward_fakes import FakeLastfmWrite, FakeListenBrainzWrite
from .test_forwarding import subsonic_play

FORWARD = next(c for c in CONSUMERS if c.durable == "ingest_forward")


class Proc:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "ingest_svc"], env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def stop(self, sig: int) -> None:
        if self.p.poll() is None:
            self.p.send_signal(sig)
            self.p.wait(timeout=30)
        self.log.close()


async def _settled(js: JetStreamContext) -> bool:
    info = await js.consumer_info("INGEST", FORWARD.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


@pytest.mark.parametrize("killed_in", ["listenbrainz", "lastfm"])
async def test_sigkill_between_submission_and_ack_submits_once(
    killed_in: str, provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path
) -> None:
    js = provisioned
    # a short ack wait, so the killed process's message comes back within the test
    await js.add_consumer("INGEST", consumer_config(FORWARD.model_copy(update={"ack_wait_s": 2.0})))
    with FakeWeb() as lb_web, FakeWeb() as fm_web:
        lb, fm = FakeListenBrainzWrite(lb_web), FakeLastfmWrite(fm_web)
        (lb if killed_in == "listenbrainz" else fm).hang_after_accept_s = 60.0
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_")}
        env |= {
            "NATS_URL": nats_endpoint.url,
            "BRAINSTREAM_DATA_DIR": str(tmp_path / "data"),
            "BRAINSTREAM_LOG_JSON": "0",
            "BRAINSTREAM_CONTACT": "ops@example.org",
            "BRAINSTREAM_HTTP_TIMEOUT": "90",
            "BRAINSTREAM_ADMIN_USER": "alice",
            "BRAINSTREAM_LISTENBRAINZ_URL": lb_web.base_url,
            "BRAINSTREAM_LISTENBRAINZ_USER": "alice",
            "BRAINSTREAM_LISTENBRAINZ_TOKEN": "lb-token-alice",
            "BRAINSTREAM_LISTENBRAINZ_MIN_INTERVAL": "0",
            "BRAINSTREAM_LASTFM_URL": fm_web.url("/2.0/"),
            "BRAINSTREAM_LASTFM_USER": "alice-fm",
            "BRAINSTREAM_LASTFM_API_KEY": "lfm-key",
            "BRAINSTREAM_LASTFM_API_SECRET": "lfm-secret",
            "BRAINSTREAM_LASTFM_SESSION_KEY": "lfm-sk-alice",
            "BRAINSTREAM_LISTEN_INTERVAL": "1",
        }
        play = subsonic_play()
        first = Proc(env, tmp_path / "first.log")
        try:
            await js.publish(play.subject, play.to_json(), headers={"Nats-Msg-Id": str(play.event_id)})
            accepted = (lambda: len(lb.listens)) if killed_in == "listenbrainz" else (lambda: len(fm.scrobbles))
            await wait_until(accepted, timeout=60, interval=0.1)
        finally:
            first.stop(signal.SIGKILL)  # the target has it; the ledger says "sending"; the message is not acked

        lb.hang_after_accept_s = fm.hang_after_accept_s = 0.0
        second = Proc(env, tmp_path / "second.log")
        try:
            await wait_until(lambda: len(fm.scrobbles) + len(lb.listens), timeout=60, predicate=lambda n: n >= 2)
            await wait_until(lambda: _settled(js), timeout=60, interval=0.2)
            # the poller reads the forwarded play back from ListenBrainz: it is recorded, and not sent back
            await wait_until(
                lambda: js.stream_info("INGEST", subjects_filter="ingest.listen.recorded"),
                timeout=60,
                predicate=lambda info: (info.state.messages or 0) >= 2,
            )
            await wait_until(lambda: _settled(js), timeout=60, interval=0.2)
        finally:
            second.stop(signal.SIGTERM)
        assert len(lb.submissions()) == 1 and len(lb.listens) == 1
        assert fm.scrobble_calls() == 1 and len(fm.scrobbles) == 1
        logs = (tmp_path / "first.log").read_text() + (tmp_path / "second.log").read_text()
        assert "lb-token-alice" not in logs and "lfm-sk-alice" not in logs and "lfm-secret" not in logs
