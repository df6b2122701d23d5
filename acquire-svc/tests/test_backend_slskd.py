"""slskd against a loopback fake: picking, 2 searches at once (429 beyond), stalls, errors, completed transfers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from acquire_fake_slskd import FakeSlskd, SharedFile
from acquire_fakes import Wired, make_resolved, make_track
from acquire_svc.backends.slskd import SlskdBackend
from acquire_svc.ports import CandidateRefused, Wanted
from contracts.acquire import CandidateRejected, RejectionReason, TrackTagged
from infra.http import ApiClient, HttpSettings
from tests.support.audio import make_audio
from tests.support.fakeweb import FakeWeb

FAST = HttpSettings(timeout_s=5, max_retries=20, backoff_base_s=0.05, backoff_max_s=0.2)


def backend(web: FakeWeb, downloads: Path, **kw: float) -> SlskdBackend:
    client = ApiClient("slskd", web.base_url, FAST, headers={"X-API-Key": "secret-key"})
    return SlskdBackend(
        client,
        downloads,
        formats=["flac", "mp3"],
        search_timeout_s=kw.get("search_timeout_s", 2.0),
        stall_timeout_s=kw.get("stall_timeout_s", 0.3),
        poll_s=0.05,
    )


def want(title: str = "Believer") -> Wanted:
    t = make_track(title=title)
    return Wanted(t.recording_mbid, t.title, t.artist, [t.artist], t.album, 3.0)


async def progress(done: int) -> None:
    return None


@pytest.fixture
def shared(tmp_path: Path) -> dict[str, Path]:
    return {
        "mp3": make_audio(tmp_path / "src/a.mp3", "mp3", 3.0),
        "flac": make_audio(tmp_path / "src/a.flac", "flac", 3.0),
    }


async def test_picks_preferred_format_and_downloads(tmp_path: Path, shared: dict[str, Path]) -> None:
    with FakeWeb() as web:
        fake = FakeSlskd(web, tmp_path / "dl").install()
        fake.files = [
            SharedFile("u1", "Music\\Imagine Dragons\\Evolve\\03 Believer.mp3", shared["mp3"], bit_rate=320, length=3),
            SharedFile("u2", "Music\\Evolve\\03 - Believer.flac", shared["flac"], length=3),
            SharedFile("u3", "Music\\Evolve\\03 Believer (Live).flac", shared["flac"], length=3),
            SharedFile("u4", "Music\\Evolve\\04 Believe Her.flac", shared["flac"], length=3),
            SharedFile("u5", "Music\\Evolve\\03 Believer.wma", shared["flac"], length=3),
        ]
        b = backend(web, tmp_path / "dl")
        found = await b.search(want())
        assert [c.candidate_id.split(":")[0] for c in found] == ["u2", "u1"]
        work = tmp_path / "work"
        work.mkdir()
        path = await b.fetch(found[0], work, progress)
        assert path.read_bytes() == shared["flac"].read_bytes()
        assert fake.active == {}  # every search was deleted after use


async def test_never_more_than_two_searches(tmp_path: Path, shared: dict[str, Path]) -> None:
    with FakeWeb() as web:
        fake = FakeSlskd(web, tmp_path / "dl", polls_until_complete=4).install()
        fake.files = [SharedFile("u1", "M\\A\\Believer.mp3", shared["mp3"], bit_rate=320)]
        one = backend(web, tmp_path / "dl")
        results = await asyncio.gather(*(one.search(want()) for _ in range(5)))
        assert all(len(r) == 1 for r in results)
        assert fake.max_active_seen == 2 and fake.refused == 0  # the backend keeps to the limit itself

        # a second process (another replica) shares the server: 429s are retried until a slot frees up
        other = backend(web, tmp_path / "dl")
        results = await asyncio.gather(*(b.search(want()) for b in (one, one, other, other)))
        assert all(len(r) == 1 for r in results)
        assert fake.max_active_seen == 2 and fake.refused > 0


async def test_stalled_and_failed_transfers_are_given_up(
    tmp_path: Path, shared: dict[str, Path], wire: Callable[..., Wired]
) -> None:
    with FakeWeb() as web:
        fake = FakeSlskd(web, tmp_path / "dl").install()
        fake.files = [
            SharedFile("stall", "M\\A\\Believer.flac", shared["flac"]),
            SharedFile("err", "M\\B\\Believer.flac", shared["flac"]),
            SharedFile("ok", "M\\C\\Believer.mp3", shared["mp3"], bit_rate=128),
        ]
        fake.files[0].outcome = "stall"
        fake.files[1].outcome = "error"
        b = backend(web, tmp_path / "dl")
        work = tmp_path / "work"
        work.mkdir()
        found = await b.search(want())
        stall = next(c for c in found if c.candidate_id.startswith("stall"))
        with pytest.raises(CandidateRefused, match="stalled"):
            await b.fetch(stall, work, progress)
        assert any(t["cancelled"] for t in fake.transfers.values())

        w = wire({"slskd": b})
        await w.service.handle(make_resolved(make_track()), last_try=False)
        reasons = {r.candidate_id.split(":")[0]: r.reason for r in w.of(CandidateRejected)}
        assert reasons == {"stall": RejectionReason.DOWNLOAD_FAILED, "err": RejectionReason.DOWNLOAD_FAILED}
        (tagged,) = w.of(TrackTagged)
        assert tagged.format == "mp3"


async def test_search_time_limit_takes_the_responses_so_far(tmp_path: Path, shared: dict[str, Path]) -> None:
    with FakeWeb() as web:
        fake = FakeSlskd(web, tmp_path / "dl", polls_until_complete=10_000).install()
        fake.files = [SharedFile("u1", "M\\A\\Believer.mp3", shared["mp3"], bit_rate=320)]
        b = backend(web, tmp_path / "dl", search_timeout_s=0.3)
        found = await b.search(want())
        assert len(found) == 1
        assert fake.active == {}
