"""The use case with in-memory ports and real audio files: validation, negative cache, resume, the gate's rules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acquire_fakes import FileBackend, Wired, cover_ref, make_resolved, make_track
from acquire_svc.adapters.tagger import TagCheckFailed, Tagger
from acquire_svc.domain.gate import GateState
from acquire_svc.domain.tagplan import core_tags
from contracts.acquire import (
    AcquisitionFailed,
    AcquisitionFailureReason,
    AcquisitionSkipped,
    CandidateRejected,
    RejectionReason,
    SkipReason,
    TrackDownloaded,
    TrackTagged,
    TrackValidated,
)
from contracts.common import CandidateSource
from tests.support.audio import make_audio, make_not_audio, truncate_file


async def test_wrong_song_then_right_one(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    wrong = make_audio(tmp_path / "src/wrong.mp3", "mp3", 3.0, freq=300, tags={"title": "Believe Her"})
    right = make_audio(tmp_path / "src/right.mp3", "mp3", 3.0, freq=500)
    backend = FileBackend(files=[("Imagine Dragons - Believer", wrong), ("Imagine Dragons - Believer", right)])
    w = wire({"files": backend})
    ev = make_resolved(make_track(cover=cover_ref("http://covers.example/x.png")))

    await w.service.handle(ev, last_try=False)

    rejected = w.of(CandidateRejected)
    assert [r.reason for r in rejected] == [RejectionReason.TITLE_MISMATCH]
    assert "Believe Her" in rejected[0].detail
    assert len(w.of(TrackDownloaded)) == 2
    assert len(w.of(TrackValidated)) == 1
    (tagged,) = w.of(TrackTagged)
    assert tagged.format == "mp3" and tagged.correlation_id == ev.correlation_id
    assert tagged.origin is CandidateSource.CF and tagged.user == ev.user  # library-svc makes it a discovery
    staged = Path(tagged.staging_path)
    assert staged == w.staging.root / f"{ev.track.recording_mbid}.mp3"
    assert staged.stat().st_size == tagged.size_bytes
    assert w.negative.items == {(backend.name, rejected[0].candidate_id): RejectionReason.TITLE_MISMATCH}
    assert w.gate.entries[ev.track.recording_mbid].state is GateState.TAGGED
    assert list(w.staging.partial.iterdir()) == []  # no work folder left behind


async def test_every_bad_candidate_is_rejected_with_its_reason(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    truncated = truncate_file(make_audio(tmp_path / "src/t.flac", "flac", 3.0), 40)
    noise = make_not_audio(tmp_path / "src/n.mp3")
    long = make_audio(tmp_path / "src/long.mp3", "mp3", 8.0)
    thin = make_audio(tmp_path / "src/thin.mp3", "mp3", 3.0, bitrate_kbps=64)
    title = "Imagine Dragons - Believer"
    backend = FileBackend(files=[(title, truncated), (title, noise), (title, long), (title, thin)])
    w = wire({"files": backend})
    ev = make_resolved(make_track())

    await w.service.handle(ev, last_try=False)

    (failed,) = w.of(AcquisitionFailed)
    assert failed.reason is AcquisitionFailureReason.ATTEMPTS_EXHAUSTED
    assert [r.reason for r in failed.rejected] == [
        RejectionReason.UNREADABLE,
        RejectionReason.UNREADABLE,
        RejectionReason.DURATION_MISMATCH,
        RejectionReason.BITRATE_TOO_LOW,
    ]
    assert not w.of(TrackTagged)
    assert w.gate.entries[ev.track.recording_mbid].state is GateState.FAILED
    assert list(w.staging.root.glob("*.mp3")) == []

    # a manual retry reopens the failed track, and the negative cache keeps every rejected candidate away
    retry = make_resolved(ev.track, origin=CandidateSource.MANUAL)
    fetched_before = len(backend.fetched)
    await w.service.handle(retry, last_try=False)
    assert len(backend.fetched) == fetched_before
    assert w.of(AcquisitionFailed)[-1].reason is AcquisitionFailureReason.NO_CANDIDATES


async def test_attempt_limit(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    long = make_audio(tmp_path / "src/long.mp3", "mp3", 8.0)
    backend = FileBackend(files=[("Believer", long)] * 5)
    w = wire({"files": backend}, max_attempts=2)
    await w.service.handle(make_resolved(make_track()), last_try=False)
    assert len(backend.fetched) == 2
    assert len(w.of(AcquisitionFailed)[0].rejected) == 2


async def test_recommendation_never_reopens_a_failed_track(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    w = wire({"files": FileBackend()})
    track = make_track()
    await w.service.handle(make_resolved(track), last_try=False)
    assert w.of(AcquisitionFailed)[0].reason is AcquisitionFailureReason.NO_CANDIDATES
    again = make_resolved(track, origin=CandidateSource.RADIO)
    await w.service.handle(again, last_try=False)
    (skipped,) = w.of(AcquisitionSkipped)
    assert skipped.reason is SkipReason.ALREADY_IN_FLIGHT


async def test_second_request_starts_nothing_and_owned_is_skipped(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    src = make_audio(tmp_path / "src/a.ogg", "ogg", 3.0)
    backend = FileBackend(files=[("Believer", src)])
    w = wire({"files": backend})
    track = make_track()
    first = make_resolved(track)
    await w.service.handle(first, last_try=False)
    second = make_resolved(track, origin=CandidateSource.MANUAL)
    await w.service.handle(second, last_try=False)
    (skipped,) = w.of(AcquisitionSkipped)
    assert skipped.reason is SkipReason.ALREADY_IN_FLIGHT
    assert skipped.existing_correlation_id == first.correlation_id
    assert len(backend.fetched) == 1

    owned = make_track()
    w.owned.owned.add(owned.recording_mbid)
    await w.service.handle(make_resolved(owned), last_try=False)
    assert w.of(AcquisitionSkipped)[-1].reason is SkipReason.ALREADY_OWNED
    assert owned.recording_mbid not in w.gate.entries


async def test_redelivery_resumes_without_download_or_stage_one(tmp_path: Path, wire: Callable[..., Wired]) -> None:
    backend = FileBackend(files=[("Believer", make_audio(tmp_path / "src/a.m4a", "m4a", 3.0))])
    w = wire({"files": backend})
    ev = make_resolved(make_track(cover=cover_ref("http://covers.example/x.png")))
    mbid = ev.track.recording_mbid
    # as if an earlier delivery had downloaded, validated and done stage 1, then died
    staged = make_audio(w.staging.root / f"{mbid}.m4a", "m4a", 3.0)
    plan = core_tags(ev.track, album_mbid=True)
    Tagger(tmp_path / "scratch").stage1(staged, "m4a", plan)
    await w.gate.enter(mbid, ev.event_id, ev.correlation_id, manual=False)
    stage1_bytes = staged.read_bytes()

    await w.service.handle(ev, last_try=False)

    assert backend.fetched == []
    assert not w.of(TrackDownloaded)
    (tagged,) = w.of(TrackTagged)
    assert Path(tagged.staging_path) == staged
    assert w.covers.calls == 1
    assert staged.read_bytes() != stage1_bytes

    # and once more, after tagging, even with the file already moved into the library: nothing is repeated
    staged.unlink()
    await w.service.handle(ev, last_try=False)
    assert backend.fetched == [] and w.covers.calls == 1
    assert len(w.of(TrackTagged)) == 1
    # and once library-svc lists it as owned, the same late redelivery is not reported as a skip either
    w.owned.owned.add(mbid)
    await w.service.handle(ev, last_try=False)
    assert not w.of(AcquisitionSkipped)


async def test_staged_file_that_no_longer_validates_is_fetched_again(
    tmp_path: Path, wire: Callable[..., Wired]
) -> None:
    backend = FileBackend(files=[("Believer", make_audio(tmp_path / "src/a.flac", "flac", 3.0))])
    w = wire({"files": backend})
    ev = make_resolved(make_track())
    make_not_audio(w.staging.root / f"{ev.track.recording_mbid}.flac")
    await w.service.handle(ev, last_try=False)
    assert len(backend.fetched) == 1
    assert len(w.of(TrackTagged)) == 1


async def test_tagging_that_never_reads_back_fails_on_the_last_try(
    tmp_path: Path, wire: Callable[..., Wired], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = FileBackend(files=[("Believer", make_audio(tmp_path / "src/a.mp3", "mp3", 3.0))])
    w = wire({"files": backend})
    ev = make_resolved(make_track())

    def broken(self: object, path: Path, fmt: str, plan: object) -> None:
        raise TagCheckFailed("stage 1 read-back: title differs")

    monkeypatch.setattr(Tagger, "stage1", broken)
    with pytest.raises(TagCheckFailed):
        await w.service.handle(ev, last_try=False)
    await w.service.handle(ev, last_try=True)
    (failed,) = w.of(AcquisitionFailed)
    assert failed.reason is AcquisitionFailureReason.TAGGING_FAILED
    assert w.gate.entries[ev.track.recording_mbid].state is GateState.FAILED
    assert len(backend.fetched) == 1  # the second delivery used the staged file


async def test_manual_request_reacquires_a_tagged_track_the_library_no_longer_has(
    tmp_path: Path, wire: Callable[..., Wired]
) -> None:
    src = make_audio(tmp_path / "src/a.mp3", "mp3", 3.0)
    backend = FileBackend(files=[("Believer", src)])
    w = wire({"files": backend})
    track = make_track()
    await w.service.handle(make_resolved(track), last_try=False)
    (tagged,) = w.of(TrackTagged)

    # still waiting in staging for the library: a manual request starts nothing
    await w.service.handle(make_resolved(track, origin=CandidateSource.MANUAL), last_try=False)
    assert w.of(AcquisitionSkipped)[-1].reason is SkipReason.ALREADY_IN_FLIGHT

    # the library took the file, then the track was removed from it: a recommendation still starts nothing …
    Path(tagged.staging_path).unlink()
    await w.service.handle(make_resolved(track, origin=CandidateSource.CF), last_try=False)
    assert len(w.of(AcquisitionSkipped)) == 2
    # … but a person asking again gets it back
    await w.service.handle(make_resolved(track, origin=CandidateSource.MANUAL), last_try=False)
    assert len(w.of(TrackTagged)) == 2 and len(backend.fetched) == 2
