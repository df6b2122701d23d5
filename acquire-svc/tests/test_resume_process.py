"""Crash and resume on a real nats-server with real files: `python -m acquire_svc` is SIGKILLed in the middle of a
download, between the tag stages, and after tagging but before the ack; a restart without the pause must leave
exactly one fully tagged file in staging and one `tagged` event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from acquire_fakes import PNG, cover_ref, make_resolved, make_track
from acquire_svc.adapters.tagger import Tagger
from acquire_svc.domain.tagplan import core_tags
from contracts.acquire import TrackTagged
from contracts.topology import CONSUMERS
from infra.provision import consumer_config
from tests.support.audio import make_audio
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

RESOLVED = next(c for c in CONSUMERS if c.durable == "acquire_resolved")


CRASH_MAIN = Path(__file__).with_name("acquire_crash_main.py")


class Proc:
    def __init__(self, env: dict[str, str], log: Path, pause_at: str | None = None) -> None:
        """The real service (`python -m acquire_svc`), or its test-only entry point that stops at `pause_at`."""
        self.log = log.open("ab")
        cmd = [sys.executable, str(CRASH_MAIN), pause_at] if pause_at else [sys.executable, "-m", "acquire_svc"]
        self.p = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self, sig: int) -> None:
        if self.p.poll() is None:
            self.p.send_signal(sig)
            self.p.wait(timeout=30)
        self.log.close()


@pytest.fixture
def cover_web() -> Iterator[FakeWeb]:
    with FakeWeb() as web:
        web.reply("GET", "/cover.png", Reply.raw(PNG, content_type="image/png"))
        yield web


async def _tagged_count(js: JetStreamContext) -> int:
    info = await js.stream_info("ACQUIRE", subjects_filter=TrackTagged.subject)
    return int((info.state.subjects or {}).get(TrackTagged.subject, 0))


async def _settled(js: JetStreamContext) -> bool:
    info = await js.consumer_info("RESOLVE", RESOLVED.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


@pytest.mark.parametrize("stage", ["download", "between_stages", "before_ack"])
async def test_sigkill_then_resume(
    stage: str, provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path, cover_web: FakeWeb
) -> None:
    js = provisioned
    # a short ack wait, so the message of the killed process comes back within the test
    await js.add_consumer("RESOLVE", consumer_config(RESOLVED.model_copy(update={"ack_wait_s": 2.0})))
    data_dir = tmp_path / "data"
    inbox = data_dir / "inbox"
    # a larger file (30 s of FLAC, several 64 KiB chunks), so "the middle of a download" is a real partial file
    make_audio(inbox / "Imagine Dragons - Believer.flac", "flac", 30.0)
    track = make_track(duration_ms=30_000, cover=cover_ref(cover_web.url("/cover.png")))
    event = make_resolved(track)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_")}
    env |= {
        "NATS_URL": nats_endpoint.url,
        "BRAINSTREAM_DATA_DIR": str(data_dir),
        "BRAINSTREAM_ACQUIRE_BACKENDS": "inbox",
        "BRAINSTREAM_LOG_JSON": "0",
        "BRAINSTREAM_HTTP_RETRIES": "0",
    }
    marker = data_dir / f"test-paused-{stage}"
    staging = data_dir / "staging"

    first = Proc(env, tmp_path / "first.log", pause_at=stage)
    try:
        await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})
        await wait_until(marker.exists, timeout=60, interval=0.1)
    finally:
        first.kill(signal.SIGKILL)

    partials = [p for p in (staging / ".partial").iterdir()]
    if stage == "download":
        assert len(partials) == 1 and any(p.name.startswith("inbox") for p in partials[0].iterdir())
        assert not list(staging.glob(f"{track.recording_mbid}.*"))
    if stage == "before_ack":
        assert await _tagged_count(js) == 1
    else:
        assert await _tagged_count(js) == 0
    staged_before = list(staging.glob(f"{track.recording_mbid}.*"))
    mtime_before = staged_before[0].stat().st_mtime_ns if stage == "before_ack" else None

    second = Proc(env, tmp_path / "second.log")
    try:
        await wait_until(lambda: _tagged_count(js), timeout=60, interval=0.2)
        await wait_until(lambda: _settled(js), timeout=60, interval=0.2)
    finally:
        second.kill(signal.SIGTERM)

    assert await _tagged_count(js) == 1
    files = list(staging.glob(f"{track.recording_mbid}.*"))
    assert [f.suffix for f in files] == [".flac"]
    assert list((staging / ".partial").iterdir()) == []  # the orphaned partial download was removed at boot
    tagger = Tagger(tmp_path / "scratch")
    assert tagger.stage1_done(files[0], "flac", core_tags(track, album_mbid=True))
    assert tagger.stage2_done(files[0], "flac", track.genres, want_cover=True)
    if mtime_before is not None:
        assert files[0].stat().st_mtime_ns == mtime_before  # nothing was rewritten after tagging
    if stage != "download":
        assert not inbox.joinpath("Imagine Dragons - Believer.flac").exists()
