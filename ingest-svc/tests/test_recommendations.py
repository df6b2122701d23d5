"""Recommendation runs against a loopback ListenBrainz: retrain detection, the 80/20 mix, dedupe, 204."""

from __future__ import annotations

import pytest

from contracts.common import CandidateSource
from contracts.ingest import (
    CandidateDiscovered,
    ModelRetrained,
    PollFailed,
    RecommendationRunCompleted,
    RecommendationRunFailed,
    RecommendationRunStarted,
)
from contracts.livesettings import UserAccounts
from infra.http import ApiClient
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.config import RunConfig
from ingest_svc.domain.recommendations import CfCursor, Marker
from ingest_svc.health import SourceHealth
from ingest_svc.service import RecommendationService
from tests.support.fakeweb import FakeWeb, Reply

from .fakes import FakeListenBrainz, MemoryCursors, MemoryKnown, RecordingPublisher, mbid

ALICE = UserAccounts(username="alice", listenbrainz_user="alice")


def cfg(run_size: int = 10, cf_ratio: float = 0.8, page: int = 100) -> RunConfig:
    return RunConfig(
        run_size=run_size,
        cf_ratio=cf_ratio,
        cf_page_size=page,
        cf_max_pages=5,
        radio_mode="easy",
        radio_seed_artists=2,
        radio_top_artists=25,
        radio_stats_range="all_time",
    )


def make(lb_client: ApiClient, known: MemoryKnown | None = None):  # type: ignore[no-untyped-def]
    cursors, pub = MemoryCursors(), RecordingPublisher()
    svc = RecommendationService(ListenBrainz(lb_client), cursors, known or MemoryKnown(), pub, SourceHealth())
    return svc, cursors, pub


@pytest.mark.parametrize("marker", ["model_id", "last_updated", "none"])
async def test_retrain_goes_back_to_offset_zero_and_says_so(
    fake_web: FakeWeb, lb_client: ApiClient, marker: str
) -> None:
    old = [mbid(i) for i in range(200)]
    lb = FakeListenBrainz(fake_web, cf=old, marker=marker, radio=[mbid(i, "radio") for i in range(50)])
    svc, cursors, pub = make(lb_client)
    # an earlier run paged to offset 50 under the current model
    await svc.run("alice", ALICE, cfg())
    first = await cursors.cf("alice")
    await cursors.save_cf("alice", CfCursor(offset=50, marker=first.marker, radio_rotation=first.radio_rotation))

    # unchanged model: the offset goes on
    report = await svc.run("alice", ALICE, cfg())
    assert not report.retrained
    assert [c.position for c in report.cf] == list(range(50, 58))
    assert [c.recording_mbid for c in report.cf] == old[50:58]
    assert (await cursors.cf("alice")).offset == 58
    assert pub.of(ModelRetrained) == []

    # retrain: a new list whose head changed
    new = [mbid(i, "new") for i in range(200)]
    lb.retrain(new, model="m2")
    report = await svc.run("alice", ALICE, cfg())
    assert report.retrained
    assert [c.position for c in report.cf] == list(range(8))
    assert [c.recording_mbid for c in report.cf] == new[:8]
    assert (await cursors.cf("alice")).offset == 8
    (event,) = pub.of(ModelRetrained)
    assert event.old_offset == 58
    assert event.old_marker != event.new_marker
    assert event.marker_kind == {"none": "first_mbid"}.get(marker, marker)
    if marker == "none":
        assert event.old_marker == str(old[0]) and event.new_marker == str(new[0])

    # and the run after that goes on from 8 without another retrain event
    report = await svc.run("alice", ALICE, cfg())
    assert [c.position for c in report.cf] == list(range(8, 16))
    assert len(pub.of(ModelRetrained)) == 1


async def test_mix_holds_80_20_within_one_candidate_over_100_runs(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    runs, size = 100, 10
    cf = [mbid(i) for i in range(runs * size)]
    radio = cf[:5] + [mbid(i, "radio") for i in range(300)]  # the radio repeats some CF picks
    FakeListenBrainz(fake_web, cf=cf, radio=radio, artists=[(f"A{i}", str(mbid(i, "artist"))) for i in range(10)])
    svc, cursors, pub = make(lb_client)
    totals = {CandidateSource.CF: 0, CandidateSource.RADIO: 0}
    for _ in range(runs):
        report = await svc.run("alice", ALICE, cfg(run_size=size))
        # within one run: 8 CF and 2 radio, exactly (within one candidate of 80/20)
        assert abs(len(report.cf) - 0.8 * size) <= 1, report
        assert len(report.cf) + len(report.radio) == size
    for event in pub.of(CandidateDiscovered):
        totals[event.source] += 1
    assert abs(totals[CandidateSource.CF] - 0.8 * runs * size) <= 1
    assert abs(totals[CandidateSource.RADIO] - 0.2 * runs * size) <= 1
    published = [e.recording_mbid for e in pub.of(CandidateDiscovered)]
    assert len(published) == len(set(published)) == runs * size  # nothing offered twice across the runs
    assert len(pub.of(RecommendationRunStarted)) == len(pub.of(RecommendationRunCompleted)) == runs
    assert (await cursors.cf("alice")).offset == runs * 8


async def test_an_mbid_in_both_sources_is_published_once(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    shared = mbid(3)
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(8)], radio=[shared, mbid(1, "radio"), mbid(2, "radio")])
    owned = mbid(5)  # the library has it already
    svc, _, pub = make(lb_client, MemoryKnown([owned]))
    report = await svc.run("alice", ALICE, cfg())
    published = [e.recording_mbid for e in pub.of(CandidateDiscovered)]
    assert published.count(shared) == 1
    assert owned not in published
    assert len(published) == len(set(published))
    assert report.duplicates == 2  # the radio's copy of CF #3 and the owned CF #5
    (done,) = pub.of(RecommendationRunCompleted)
    assert done.duplicates_skipped == 2


async def test_exhausted_cf_is_backfilled_by_radio(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    FakeListenBrainz(fake_web, cf=[mbid(i) for i in range(3)], radio=[mbid(i, "radio") for i in range(20)])
    svc, _, _ = make(lb_client)
    report = await svc.run("alice", ALICE, cfg())
    assert (len(report.cf), len(report.radio), report.cf_exhausted) == (3, 7, True)


async def test_204_means_no_recommendations_yet_not_an_error(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    FakeListenBrainz(fake_web, cf=None, radio=[mbid(i, "radio") for i in range(20)])
    svc, cursors, pub = make(lb_client)
    report = await svc.run("alice", ALICE, cfg(), interval_s=3600)
    assert report.errors == [] and pub.of(PollFailed) == []
    assert (len(report.cf), len(report.radio)) == (0, 10)
    assert (await cursors.cf("alice")).offset == 0
    ok, detail = svc.health.check()
    assert ok.value == "ok", detail


async def test_radio_prompt_prefers_artist_mbids_and_uses_the_mode(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    artists = [("Named Only", None), ("With Id", str(mbid(7, "artist"))), ("Third", str(mbid(8, "artist")))]
    FakeListenBrainz(fake_web, cf=[], radio=[mbid(1, "radio")], artists=artists)
    svc, cursors, _ = make(lb_client)
    await svc.run("alice", ALICE, cfg())
    (req,) = fake_web.requests_for("GET", "/1/explore/lb-radio")
    assert req.query["prompt"] == [f"artist:(Named Only) artist:({mbid(7, 'artist')})"]
    assert req.query["mode"] == ["easy"]
    await svc.run("alice", ALICE, cfg())  # the next run rotates on to the next seeds
    assert fake_web.requests_for("GET", "/1/explore/lb-radio")[1].query["prompt"] == [
        f"artist:({mbid(8, 'artist')}) artist:(Named Only)"
    ]
    assert (await cursors.cf("alice")).radio_rotation == 1


async def test_listenbrainz_down_is_reported_and_the_cursor_stays(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    fake_web.reply("GET", "/1/cf/recommendation/user/alice/recording", Reply.html(502, "<html>Bad Gateway</html>"))
    fake_web.reply("GET", "/1/stats/user/alice/artists", Reply.html(502, "<html>Bad Gateway</html>"))
    svc, cursors, pub = make(lb_client)
    await cursors.save_cf("alice", CfCursor(offset=40, marker=Marker("model_id", "m1")))
    report = await svc.run("alice", ALICE, cfg())
    assert len(report.errors) == 2
    assert {(e.source, e.reason.value) for e in pub.of(PollFailed)} == {("cf", "unavailable"), ("radio", "unavailable")}
    assert (await cursors.cf("alice")).offset == 40
    # the run itself says it failed, and why, in words; it did not "complete" with nothing
    (failed,) = pub.of(RecommendationRunFailed)
    assert failed.run_id == report.run_id and failed.reason == "unavailable" and report.failed
    assert failed.detail == "CF: ListenBrainz unavailable: HTTP 502; radio: ListenBrainz unavailable: HTTP 502"
    assert pub.of(RecommendationRunCompleted) == []


async def test_a_run_with_nothing_new_completes_empty(fake_web: FakeWeb, lb_client: ApiClient) -> None:
    owned = [mbid(i) for i in range(5)]
    FakeListenBrainz(fake_web, cf=owned, radio=[])
    svc, _, pub = make(lb_client, MemoryKnown(owned))
    report = await svc.run("alice", ALICE, cfg(run_size=5, cf_ratio=1.0))
    assert not report.failed and (report.cf, report.radio) == ([], [])
    (done,) = pub.of(RecommendationRunCompleted)
    assert (done.cf_count, done.radio_count, done.duplicates_skipped, done.failures) == (0, 0, 5, [])
    assert pub.of(RecommendationRunFailed) == []
