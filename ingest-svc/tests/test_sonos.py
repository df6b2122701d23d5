"""The Sonos source end to end: fake speakers on loopback answering SoCo's UPnP calls, the poller with an injected
clock, the listen gate and the INGEST stream of a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nats.js import JetStreamContext

from ingest_svc.adapters.kv import KvCursorStore, KvListenGate
from ingest_svc.adapters.sonos import SocoNetwork
from ingest_svc.domain.sonos_config import SonosConfig
from ingest_svc.health import SourceHealth
from ingest_svc.scheduler import supervise
from ingest_svc.service import ListenService
from ingest_svc.service.sonos import SonosPoller
from ingest_svc.sonos_health import SonosHealth
from tests.support.fakesonos import FakeHousehold, FakeSpeaker, Segment, local_file, radio, spotify
from tests.support.wait import wait_until

from .fakes import JsPublisher, stream_events

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
INTERVAL = 10.0


class Clock:
    """Test time: the poller reads it as a datetime, the fake speakers as seconds since T0."""

    def __init__(self) -> None:
        self.t = 0.0

    def seconds(self) -> float:
        return self.t

    def now(self) -> datetime:
        return T0 + timedelta(seconds=self.t)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def household() -> FakeHousehold:
    return FakeHousehold()


@pytest.fixture
def speakers(clock: Clock, household: FakeHousehold) -> Iterator[list[FakeSpeaker]]:
    made = [
        FakeSpeaker("127.0.0.2", "Living Room", household, clock.seconds).start(),
        FakeSpeaker("127.0.0.3", "Kitchen", household, clock.seconds).start(),
    ]
    yield made
    for speaker in made:
        speaker.stop()


class Rig:
    def __init__(self, js: JetStreamContext, poller: SonosPoller, clock: Clock, health: SonosHealth) -> None:
        self.js, self.poller, self.clock, self.health = js, poller, clock, health

    async def run_until(self, t_end: float, step: float = INTERVAL) -> None:
        """Poll every `step` seconds of test time from now until `t_end` (inclusive)."""
        while self.clock.t <= t_end:
            await self.poller.poll_once()
            self.clock.t += step

    async def listens(self) -> list[dict[str, Any]]:
        return [json.loads(b) for b in await stream_events(self.js, "INGEST", "ingest.listen.recorded")]

    def speaker(self, address: str) -> dict[str, Any]:
        _, detail = self.health.check()
        return next(s for s in detail["speakers"] if s["address"] == address)


@pytest.fixture
async def rig(provisioned: JetStreamContext, speakers: list[FakeSpeaker], clock: Clock) -> AsyncIterator[Rig]:
    listens = ListenService(
        await KvCursorStore.open(provisioned),
        await KvListenGate.open(provisioned),
        JsPublisher(provisioned),
        SourceHealth(),
        lookback_s=0,
    )
    config = SonosConfig(
        speakers=[s.address for s in speakers],
        interval_s=INTERVAL,
        users={"kitchen": "bob"},
        default_user="alice",
    )
    health = SonosHealth(clock.now)
    memory = await KvCursorStore.open(provisioned)
    poller = SonosPoller(SocoNetwork(timeout_s=2.0), listens, lambda: config, health, clock=clock.now, memory=memory)
    yield Rig(provisioned, poller, clock, health)


async def test_spotify_track_played_past_half_is_one_listen_named_from_the_speakers_service_list(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    living.services[12] = "Spotify Premium"  # what the speaker's own list says wins over the fallback table
    living.play(Segment(0, "PLAYING", 0, spotify("4uLU6hMC", "So What", "Miles Davis", "Kind of Blue", 562)))
    living.play(Segment(300, "STOPPED", 300))
    await rig.run_until(400)
    listens = await rig.listens()
    assert len(listens) == 1
    listen = listens[0]
    assert (listen["source"], listen["user"], listen["artist"], listen["title"], listen["album"]) == (
        "sonos", "alice", "Miles Davis", "So What", "Kind of Blue"
    )  # fmt: skip
    assert listen["duration_ms"] == 562_000
    assert datetime.fromisoformat(listen["listened_at"]) == T0
    ids = listen["source_ids"]
    assert ids["room"] == "Living Room"
    assert ids["service"] == "spotify_premium"
    assert ids["service_id"] == "12"
    assert ids["track_uri"].startswith("x-sonos-spotify:spotify%3atrack%3a4uLU6hMC?sid=12")


async def test_a_track_skipped_at_30_percent_is_no_listen(rig: Rig, speakers: list[FakeSpeaker]) -> None:
    living, _ = speakers
    living.play(Segment(0, "PLAYING", 0, spotify("aaa", "Blue in Green", "Miles Davis", "Kind of Blue", 200)))
    living.play(Segment(60, "PLAYING", 0, spotify("bbb", "Freddie Freeloader", "Miles Davis", "Kind of Blue", 600)))
    await rig.run_until(120)
    assert await rig.listens() == []
    assert rig.speaker(living.address)["title"] == "Freddie Freeloader"


async def test_tunein_station_changing_titles_three_times_is_three_listens(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    living.services = {254: "TuneIn"}
    titles = ["Nina Simone - Feeling Good", "Radio Paradise - Listener supported", "Bill Evans - Peace Piece",
              "Ad break - back after this", "Chet Baker - Almost Blue", "Khruangbin - Maria También"]  # fmt: skip
    for n, title in enumerate(titles):
        living.play(Segment(n * 180, "PLAYING", 0, radio("s24939", "Radio Paradise", title)))
    await rig.run_until(len(titles) * 180 - 10)
    listens = await rig.listens()
    # the station's own slogan and the ad break are dropped; the last title is still playing
    assert [(x["artist"], x["title"]) for x in listens] == [
        ("Nina Simone", "Feeling Good"), ("Bill Evans", "Peace Piece"), ("Chet Baker", "Almost Blue")
    ]  # fmt: skip
    assert {x["source_ids"]["service"] for x in listens} == {"tunein"}
    assert {x["source_ids"]["station"] for x in listens} == {"Radio Paradise"}
    assert [datetime.fromisoformat(x["listened_at"]) for x in listens] == [
        T0, T0 + timedelta(seconds=360), T0 + timedelta(seconds=720)
    ]  # fmt: skip
    now = rig.speaker(living.address)
    assert (now["artist"], now["title"], now["service"], now["station"]) == (
        "Khruangbin", "Maria También", "tunein", "Radio Paradise"
    )  # fmt: skip


async def test_local_library_file_is_one_listen_with_service_local_library(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    track = local_file("Portishead/Dummy/03 Sour Times.flac", "Sour Times", "Portishead", "Dummy", 252)
    living.play(Segment(0, "PLAYING", 0, track), Segment(252, "STOPPED", 252))
    await rig.run_until(300)
    listens = await rig.listens()
    assert len(listens) == 1
    assert listens[0]["source_ids"]["service"] == "local_library"
    assert "service_id" not in listens[0]["source_ids"]


async def test_a_group_of_two_speakers_is_one_listen_for_the_coordinators_room(
    rig: Rig, speakers: list[FakeSpeaker], household: FakeHousehold
) -> None:
    living, kitchen = speakers
    household.groups = [[kitchen, living]]  # the kitchen leads: the listen is bob's
    kitchen.play(Segment(0, "PLAYING", 0, spotify("ccc", "Teardrop", "Massive Attack", "Mezzanine", 330)))
    await rig.run_until(200)
    listens = await rig.listens()
    assert len(listens) == 1
    assert listens[0]["user"] == "bob"
    assert listens[0]["source_ids"]["room"] == "Kitchen"
    assert listens[0]["source_ids"]["group"] == "Kitchen, Living Room"
    member = rig.speaker(living.address)
    assert (member["group"], member["title"], member["status"]) == ("Kitchen", "Teardrop", "ok")


async def test_pause_and_resume_is_one_listen_and_a_repeat_on_purpose_counts_again(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    track = spotify("ddd", "Pyramid Song", "Radiohead", "Amnesiac", 290)
    living.play(
        Segment(0, "PLAYING", 0, track),
        Segment(100, "PAUSED_PLAYBACK", 100),  # 100 s played: not yet half
        Segment(400, "PLAYING", 100),  # resumed five minutes later
        Segment(500, "PLAYING", 120),  # sought back: still the same play
        Segment(700, "PLAYING", 0),  # played again from the start (repeat one)
        Segment(900, "STOPPED", 200),
    )
    await rig.run_until(950)
    listens = await rig.listens()
    assert [datetime.fromisoformat(x["listened_at"]) for x in listens] == [T0, T0 + timedelta(seconds=700)]
    assert len({x["event_id"] for x in listens}) == 2


async def test_a_speaker_that_stops_answering_shows_in_health_while_the_other_goes_on(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, kitchen = speakers
    living.play(Segment(0, "PLAYING", 0, spotify("eee", "Roads", "Portishead", "Dummy", 300)))
    kitchen.play(Segment(0, "PLAYING", 0, spotify("fff", "Glory Box", "Portishead", "Dummy", 300)))
    await rig.run_until(20)
    last_success = rig.speaker(living.address)["last_success"]
    living.stop()  # switched off
    await rig.run_until(200)
    assert rig.health.check()[0] == "degraded"
    off = rig.speaker(living.address)
    assert off["status"] == "unreachable"
    assert off["last_success"] == last_success
    assert off["error"]
    assert rig.speaker(kitchen.address)["status"] == "ok"
    assert [(x["title"], x["user"]) for x in await rig.listens()] == [("Glory Box", "bob")]


async def test_an_exception_in_one_poll_is_survived_with_back_off_and_shown_in_health(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, kitchen = speakers
    living.play(Segment(0, "PLAYING", 0, spotify("ggg", "Angel", "Massive Attack", "Mezzanine", 380)))
    kitchen.play(Segment(0, "PLAYING", 0, spotify("hhh", "Inertia Creeps", "Massive Attack", "Mezzanine", 356)))
    living.broken_metadata = True
    await rig.run_until(0)
    failing = rig.speaker(living.address)
    assert failing["status"] == "failing"
    assert "unreadable track metadata" in failing["error"]
    assert datetime.fromisoformat(failing["retry_at"]) == T0 + timedelta(seconds=2 * INTERVAL)
    assert rig.health.check()[0] == "degraded"
    before = len(living.web.requests)
    await rig.run_until(10)  # within the back-off: the failing speaker is left alone, the other is polled
    assert len(living.web.requests) == before
    assert rig.speaker(kitchen.address)["status"] == "ok"
    living.broken_metadata = False
    await rig.run_until(400)
    assert rig.speaker(living.address)["status"] == "ok"
    assert rig.health.check()[0] == "ok"
    assert sorted(x["title"] for x in await rig.listens()) == ["Angel", "Inertia Creeps"]


async def test_a_crashed_poll_loop_restarts_with_back_off_and_says_so_in_health(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    living.play(Segment(0, "PLAYING", 0, spotify("iii", "Unfinished Sympathy", "Massive Attack", "Blue Lines", 300)))
    config = rig.poller.config
    calls = 0

    def settings_store_fails_once() -> SonosConfig:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("settings store answered garbage")
        return config()

    rig.poller.config = settings_store_fails_once

    async def loop() -> None:
        while True:
            await rig.poller.poll_once()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(supervise("sonos", loop, first_delay_s=1.0, on_crash=rig.health.loop_restarted))
    try:
        status, detail = await wait_until(rig.health.check, predicate=lambda c: "poll_error" in c[1])
        assert status == "degraded"  # during the back-off
        assert "RuntimeError: settings store answered garbage" in detail["poll_error"]
        assert "restarting in 1.0s" in detail["poll_error"]
        # restarted: the next polls succeed, the error clears and the restart stays on record
        status, detail = await wait_until(
            rig.health.check, predicate=lambda c: c[0] == "ok" and c[1]["last_poll"] is not None
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert detail["restarts"] == 1
    assert "settings store answered garbage" in detail["last_restart"]
    assert rig.speaker(living.address)["title"] == "Unfinished Sympathy"


async def test_a_radio_speaker_switched_off_logs_its_last_title_after_three_missed_polls(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    living.play(Segment(0, "PLAYING", 0, radio("s24939", "Radio Paradise", "Nina Simone - Feeling Good")))
    await rig.run_until(60)
    living.stop()
    await rig.run_until(80)  # two polls missed: could be a blip, nothing is decided yet
    assert await rig.listens() == []
    await rig.run_until(90)
    listens = await rig.listens()
    assert [(x["title"], datetime.fromisoformat(x["listened_at"])) for x in listens] == [("Feeling Good", T0)]


class DiscoveringNetwork(SocoNetwork):
    """SoCo's SSDP discovery would multicast off the machine: answer with the fake speakers instead."""

    def __init__(self, found: list[str]) -> None:
        super().__init__(timeout_s=2.0)
        self.found = found
        self.calls = 0

    async def discover(self) -> list[str]:
        self.calls += 1
        return list(self.found)


async def test_discovered_speakers_are_polled_beside_the_configured_ones(rig: Rig, speakers: list[FakeSpeaker]) -> None:
    living, kitchen = speakers
    kitchen.play(Segment(0, "PLAYING", 0, spotify("kkk", "Svefn-g-englar", "Sigur Ros", "Agaetis byrjun", 400)))
    network = DiscoveringNetwork([kitchen.address, living.address])
    rig.poller.network = network
    rig.poller.config = lambda: SonosConfig(speakers=[living.address], discover=True, interval_s=INTERVAL)
    await rig.run_until(250)
    assert network.calls == 1  # once per five minutes, not at every poll
    assert [s["address"] for s in rig.health.check()[1]["speakers"]] == sorted([living.address, kitchen.address])
    assert [(x["title"], x["user"]) for x in await rig.listens()] == [("Svefn-g-englar", "admin")]


async def test_a_restart_after_a_long_track_counted_does_not_count_it_again(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    living.play(Segment(0, "PLAYING", 0, spotify("lll", "Shine On You Crazy Diamond", "Pink Floyd", "WYWH", 810)))
    await rig.run_until(300)  # counted at 4 minutes
    assert len(await rig.listens()) == 1
    old = rig.poller
    # a new process: only NATS remembers anything; it sees the same play with a start a second off, at most
    rig.poller = SonosPoller(SocoNetwork(timeout_s=2.0), old.listens, old.config, rig.health, rig.clock.now, old.memory)
    rig.clock.t += 0.6
    await rig.run_until(800)
    assert len(await rig.listens()) == 1


async def test_an_unreadable_service_list_falls_back_to_the_checked_table(
    rig: Rig, speakers: list[FakeSpeaker]
) -> None:
    living, _ = speakers
    living.broken_service_list = True
    living.play(Segment(0, "PLAYING", 0, spotify("mmm", "Everything In Its Right Place", "Radiohead", "Kid A", 251)))
    await rig.run_until(150)
    assert [x["source_ids"]["service"] for x in await rig.listens()] == ["spotify"]
    assert rig.speaker(living.address)["status"] == "ok"
    asked = [r for r in living.web.requests if "ListAvailableServices" in (r.header("SOAPACTION") or "")]
    assert len(asked) == 1  # asked again only after ten minutes, not at each of the 16 polls
