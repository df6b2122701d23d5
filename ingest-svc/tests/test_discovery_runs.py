"""Runs with the discovery lifecycle against a loopback ListenBrainz: the generated playlists as a third source and
the mix across CF, radio and playlists; tombstones, excluded and hated artists; owned tracks recommended again;
a run paused by the disk budget."""

from __future__ import annotations

import uuid

from contracts.common import CandidateSource
from contracts.discovery import CandidateExcluded, OwnedTrackRecommended
from contracts.ingest import (
    CandidateDiscovered,
    PollFailed,
    RecommendationRunCompleted,
    RecommendationRunFailed,
    RecommendationRunStarted,
)
from contracts.livesettings import UserAccounts
from infra.http import ApiClient
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.config import RunConfig
from ingest_svc.health import SourceHealth
from ingest_svc.ports import Tombstone
from ingest_svc.service import RecommendationService
from tests.support.fakeweb import FakeWeb

from .fakes import FakeListenBrainz, MemoryCursors, MemoryKnown, RecordingPublisher, generated_playlist, mbid

ALICE = UserAccounts(username="alice", listenbrainz_user="alice")


def cfg(run_size: int = 20, cf_ratio: float = 0.8, playlists_ratio: float = 0.2) -> RunConfig:
    return RunConfig(
        run_size=run_size,
        cf_ratio=cf_ratio,
        cf_page_size=100,
        cf_max_pages=5,
        radio_mode="easy",
        radio_seed_artists=2,
        radio_top_artists=25,
        radio_stats_range="all_time",
        playlists_ratio=playlists_ratio,
    )


class MemoryDiscoveryGate:
    """`discovery_gate` as library-svc fills it: tombstones per user, and `paused`."""

    def __init__(self) -> None:
        self.stones: dict[tuple[str, uuid.UUID], Tombstone] = {}
        self.pause: str | None = None

    async def paused(self) -> str | None:
        return self.pause

    async def tombstones(self, user: str, mbids: list[uuid.UUID]) -> dict[uuid.UUID, Tombstone]:
        return {m: self.stones[(user, m)] for m in mbids if (user, m) in self.stones}

    async def hated_artists(self, user: str) -> set[str]:
        return {s.artist for (u, _), s in self.stones.items() if u == user and s.reason == "hated" and s.artist}


def make(lb_client: ApiClient, known: MemoryKnown | None = None, gate: MemoryDiscoveryGate | None = None):  # type: ignore[no-untyped-def]
    cursors, pub = MemoryCursors(), RecordingPublisher()
    svc = RecommendationService(
        ListenBrainz(lb_client), cursors, known or MemoryKnown(), pub, SourceHealth(), gate=gate
    )
    return svc, pub


def tracks(space: str, n: int, artist: str = "Someone") -> list[tuple[uuid.UUID, str]]:
    return [(mbid(i, space), f"{artist} {i}") for i in range(n)]


def by_source(pub: RecordingPublisher) -> dict[CandidateSource, list[uuid.UUID]]:
    out: dict[CandidateSource, list[uuid.UUID]] = {s: [] for s in CandidateSource}
    for e in pub.of(CandidateDiscovered):
        out[e.source].append(e.recording_mbid)
    return out


def weekly(
    fake_web: FakeWeb, explore: list[tuple[uuid.UUID, str]], jams: list[tuple[uuid.UUID, str]], **kw
) -> FakeListenBrainz:  # type: ignore[no-untyped-def]
    """This week's Weekly Exploration and Weekly Jams, beside last week's and a Daily Jams that must be ignored."""
    playlists = [
        generated_playlist("daily-jams", tracks("daily", 10), date="2026-12-08T00:00:00+00:00"),
        generated_playlist("weekly-exploration", explore, date="2026-12-07T00:00:00+00:00"),
        generated_playlist("weekly-jams", jams, date="2026-12-07T00:00:01+00:00"),
        generated_playlist("weekly-exploration", tracks("old", 10), date="2026-11-30T00:00:00+00:00"),
    ]
    return FakeListenBrainz(fake_web, playlists=playlists, **kw)


async def test_the_mix_holds_across_cf_radio_and_playlists(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    explore, jams = tracks("explore", 10), tracks("jams", 10)
    shared = explore[1][0]  # CF recommends one of the playlists' tracks too
    cf = [mbid(0), shared] + [mbid(i) for i in range(2, 100)]
    weekly(fake_web, explore, jams, cf=cf, radio=[mbid(i, "radio") for i in range(30)])
    svc, pub = make(lb_client)
    report = await svc.run("alice", ALICE, cfg())
    # 20 at 0.2 playlists: 4 from the playlists; the other 16 split 80/20: 13 CF, 3 radio
    got = by_source(pub)
    assert (len(got[CandidateSource.CF]), len(got[CandidateSource.RADIO]), len(got[CandidateSource.PLAYLISTS])) == (
        13,
        3,
        4,
    )
    # the newest Weekly Exploration and Weekly Jams in turns; CF's copy of explore #1 is not offered twice
    assert got[CandidateSource.PLAYLISTS] == [explore[0][0], jams[0][0], jams[1][0], explore[2][0]]
    assert shared in got[CandidateSource.CF]
    published = [e.recording_mbid for e in pub.of(CandidateDiscovered)]
    assert len(published) == len(set(published)) == 20
    assert report.duplicates == 1
    (done,) = pub.of(RecommendationRunCompleted)
    assert (done.cf_count, done.radio_count, done.playlists_count) == (13, 3, 4)
    (started,) = pub.of(RecommendationRunStarted)
    assert started.playlists_ratio == 0.2
    ids = {p.query.get("count", [""])[0] for p in fake_web.requests_for("GET", "/1/user/alice/playlists/createdfor")}
    assert ids == {"100"}
    fetched = {r.path for r in fake_web.requests if r.path.startswith("/1/playlist/")}
    assert len(fetched) == 2  # this week's two, not last week's nor the Daily Jams
    assert fake_web.requests_for("GET", "/1/metadata/recording/") == []  # no artist rules: CF is not named


async def test_playlists_known_by_title_when_no_algorithm_is_named(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    explore = tracks("explore", 5)
    playlists = [generated_playlist("weekly-exploration", explore, patch=False)]
    FakeListenBrainz(fake_web, playlists=playlists, cf=[mbid(i) for i in range(50)], radio=[])
    svc, pub = make(lb_client)
    await svc.run("alice", ALICE, cfg(run_size=10, cf_ratio=1.0, playlists_ratio=0.3))
    assert by_source(pub)[CandidateSource.PLAYLISTS] == [m for m, _ in explore[:3]]


async def test_shortfalls_fill_from_the_other_sources(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    # two playlist tracks for a share of 4: the radio makes up the 2 missing
    weekly(
        fake_web,
        tracks("explore", 1),
        tracks("jams", 1),
        cf=[mbid(i) for i in range(100)],
        radio=[mbid(i, "radio") for i in range(30)],
    )
    svc, pub = make(lb_client)
    await svc.run("alice", ALICE, cfg())
    got = by_source(pub)
    assert [len(got[s]) for s in (CandidateSource.CF, CandidateSource.RADIO, CandidateSource.PLAYLISTS)] == [13, 5, 2]


async def test_a_short_radio_is_made_up_by_the_playlists(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    # CF has 5 (exhausted: 8 short), the radio 1 (for 3 + 8): the playlists' other tracks make up the rest
    weekly(
        fake_web,
        tracks("explore", 20),
        tracks("jams", 20),
        cf=[mbid(i) for i in range(5)],
        radio=[mbid(0, "radio")],
    )
    svc, pub = make(lb_client)
    report = await svc.run("alice", ALICE, cfg())
    got = by_source(pub)
    assert [len(got[s]) for s in (CandidateSource.CF, CandidateSource.RADIO, CandidateSource.PLAYLISTS)] == [5, 1, 14]
    assert report.cf_exhausted and len(set(got[CandidateSource.PLAYLISTS])) == 14


async def test_a_failing_playlists_source_is_reported_and_the_others_fill_in(
    fake_web: FakeWeb, lb_client: ApiClient
) -> None:
    weekly(
        fake_web,
        tracks("explore", 10),
        tracks("jams", 10),
        cf=[mbid(i) for i in range(100)],
        radio=[mbid(i, "radio") for i in range(30)],
    )
    svc, pub = make(lb_client)
    bad_token = ALICE.model_copy(update={"listenbrainz_token": "not-a-token"})
    report = await svc.run("alice", bad_token, cfg())
    (failed,) = pub.of(PollFailed)
    assert (failed.source, failed.reason.value, failed.status) == ("playlists", "unauthorized", 401)
    got = by_source(pub)
    assert [len(got[s]) for s in (CandidateSource.CF, CandidateSource.RADIO, CandidateSource.PLAYLISTS)] == [13, 7, 0]
    assert not report.failed
    (done,) = pub.of(RecommendationRunCompleted)
    assert [f.split(":")[0] for f in done.failures] == ["playlists"]


async def test_an_unknown_listenbrainz_user_has_no_playlists(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    FakeListenBrainz(fake_web, playlists=[generated_playlist("weekly-jams", tracks("jams", 5))])
    svc, pub = make(lb_client)
    bob = UserAccounts(username="bob", listenbrainz_user="bob")
    await svc.run("bob", bob, cfg(run_size=5, cf_ratio=1.0, playlists_ratio=1.0))
    (failed,) = [f for f in pub.of(PollFailed) if f.source == "playlists"]
    assert (failed.source, failed.reason.value) == ("playlists", "not_found")


async def test_tombstones_and_excluded_artists_are_not_offered(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    gone = mbid(2)  # expired unkept from an earlier week
    explore = [(mbid(0, "explore"), "Daft Punk"), (mbid(1, "explore"), "Pharrell feat. Daft Punk")]
    explore += tracks("explore-ok", 10)
    weekly(fake_web, explore, [], cf=[mbid(i) for i in range(100)], radio=[mbid(i, "radio") for i in range(30)])
    gate = MemoryDiscoveryGate()
    gate.stones[("alice", gone)] = Tombstone(artist="Old Band", reason="unkept")
    gate.stones[("bob", mbid(3))] = Tombstone(artist="Other", reason="hated")  # bob's, not alice's
    svc, pub = make(lb_client, gate=gate)
    alice = ALICE.model_copy(update={"excluded_artists": ["DAFT PUNK"]})
    report = await svc.run("alice", alice, cfg())
    published = {e.recording_mbid for e in pub.of(CandidateDiscovered)}
    assert gone not in published and mbid(3) in published
    assert not published & {m for m, _ in explore[:2]}
    excluded = {(e.recording_mbid, e.reason, e.source, e.artist) for e in pub.of(CandidateExcluded)}
    assert excluded == {
        (gone, "tombstone", CandidateSource.CF, "Old Band"),
        (explore[0][0], "artist_excluded", CandidateSource.PLAYLISTS, "Daft Punk"),
        (explore[1][0], "artist_excluded", CandidateSource.PLAYLISTS, "Pharrell feat. Daft Punk"),
    }
    assert all(e.run_id == report.run_id and e.user == "alice" for e in pub.of(CandidateExcluded))
    # the run still has its full size and mix: the excluded ones made room for others
    got = by_source(pub)
    assert [len(got[s]) for s in (CandidateSource.CF, CandidateSource.RADIO, CandidateSource.PLAYLISTS)] == [13, 3, 4]
    (done,) = pub.of(RecommendationRunCompleted)
    assert done.excluded == 3


async def test_cf_candidates_are_named_for_the_artist_rules(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    names = {mbid(i): f"Band {i}" for i in range(30)}
    names[mbid(1)] = "Daft Punk"
    names[mbid(2)] = "Nickelback"
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(30)], radio=[], names=names)
    gate = MemoryDiscoveryGate()
    gate.stones[("alice", mbid(99))] = Tombstone(artist="Nickelback", reason="hated")
    svc, pub = make(lb_client, gate=gate)
    alice = ALICE.model_copy(update={"excluded_artists": ["daft punk"]})
    await svc.run("alice", alice, cfg(run_size=5, cf_ratio=1.0, playlists_ratio=0.0))
    cf = by_source(pub)[CandidateSource.CF]
    assert cf == [mbid(0), mbid(3), mbid(4), mbid(5), mbid(6)]  # Nickelback's waits: CF had enough without it
    (excluded,) = pub.of(CandidateExcluded)
    assert (excluded.recording_mbid, excluded.source, excluded.reason, excluded.artist) == (
        mbid(1),
        CandidateSource.CF,
        "artist_excluded",
        "Daft Punk",
    )
    assert {e.artist for e in pub.of(CandidateDiscovered)} == {"Band 0", "Band 3", "Band 4", "Band 5", "Band 6"}
    # a CF with nothing else left offers the hated artist's recording last
    svc, pub = make(lb_client, gate=gate)
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(4)], radio=[], names=names)
    await svc.run("alice", alice, cfg(run_size=5, cf_ratio=1.0, playlists_ratio=0.0))
    assert by_source(pub)[CandidateSource.CF] == [mbid(0), mbid(3), mbid(2)]


async def test_a_hated_artist_comes_after_every_other_candidate(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    hated = [(mbid(0, "explore"), "Nickelback"), (mbid(3, "explore"), "Nickelback & Friends")]
    fine = [(mbid(1, "explore"), "A"), (mbid(2, "explore"), "B"), (mbid(4, "explore"), "C")]
    explore = [hated[0], fine[0], fine[1], hated[1], fine[2]]
    weekly(fake_web, explore, [], cf=[], radio=[])
    gate = MemoryDiscoveryGate()
    gate.stones[("alice", mbid(99))] = Tombstone(artist="nickelback", reason="hated")
    svc, pub = make(lb_client, gate=gate)
    await svc.run("alice", ALICE, cfg(run_size=3, playlists_ratio=1.0))
    assert by_source(pub)[CandidateSource.PLAYLISTS] == [m for m, _ in fine]
    svc, pub = make(lb_client, gate=gate)
    await svc.run("alice", ALICE, cfg(run_size=5, playlists_ratio=1.0))
    # with nothing else left they are offered, last
    assert by_source(pub)[CandidateSource.PLAYLISTS] == [m for m, _ in fine] + [m for m, _ in hated]
    assert pub.of(CandidateExcluded) == []


async def test_an_owned_recording_joins_the_week_instead_of_being_acquired(
    fake_web: FakeWeb, lb_client: ApiClient
) -> None:
    owned = mbid(1, "explore")
    weekly(fake_web, tracks("explore", 10), [], cf=[mbid(i) for i in range(100)], radio=[])
    known = MemoryKnown([mbid(0)], owned={owned: "tr-owned-1"})  # CF #0 is wanted already (in flight)
    svc, pub = make(lb_client, known=known)
    report = await svc.run("alice", ALICE, cfg(run_size=10, cf_ratio=1.0, playlists_ratio=0.3))
    (again,) = pub.of(OwnedTrackRecommended)
    assert (again.recording_mbid, again.track_id, again.source, again.run_id, again.user) == (
        owned,
        "tr-owned-1",
        CandidateSource.PLAYLISTS,
        report.run_id,
        "alice",
    )
    published = [e.recording_mbid for e in pub.of(CandidateDiscovered)]
    assert owned not in published and mbid(0) not in published  # neither is acquired again
    assert len(published) == 10  # and both counted as duplicates, as before
    assert report.duplicates == 2 and report.owned == 1


async def test_a_paused_run_fetches_nothing_and_says_why(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(100)], radio=[mbid(i, "radio") for i in range(30)])
    gate = MemoryDiscoveryGate()
    gate.pause = "unkept discoveries use 21.4 GB of a 20 GB budget and none can expire yet"
    svc, pub = make(lb_client, gate=gate)
    report = await svc.run("alice", ALICE, cfg(), interval_s=3600)
    assert fake_web.requests == []
    (failed,) = pub.of(RecommendationRunFailed)
    assert failed.reason == "paused" and gate.pause in failed.detail and failed.run_id == report.run_id
    assert pub.of(CandidateDiscovered) == [] and pub.of(RecommendationRunStarted) == []
    assert report.paused == gate.pause and not report.failed
    status, detail = svc.health.check()
    assert status.value == "ok"  # paused on purpose is not a fault
    assert detail["runs_paused"] == {"alice": gate.pause}
    # the next run is not due before the interval: a paused user is not polled in a loop
    assert await svc.due_in("alice", 3600) > 3500
    gate.pause = None
    await svc.run("alice", ALICE, cfg())
    assert len(pub.of(CandidateDiscovered)) == 20
    assert "runs_paused" not in svc.health.check()[1]
