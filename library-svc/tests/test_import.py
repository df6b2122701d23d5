"""Moving tagged files into the library: same device, across devices, redelivery, clashes, failures."""
# ruff: noqa: ASYNC240 — tests inspect small local files directly; blocking for microseconds is fine here

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from library_builders import tagged
from library_fakes import CountingTrigger, MemoryOwned, RecordingPublisher

from contracts.common import CandidateSource
from contracts.library import ImportFailed, ImportFailureReason, TrackImported
from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.files import LocalFiles
from library_svc.service import Library
from library_svc.settings import DEFAULT_PATH_TEMPLATE


def make_library(root: Path, catalog: SqlCatalog, *, force_copy: bool = False, template: str = DEFAULT_PATH_TEMPLATE):
    return Library(
        root,
        catalog,
        RecordingPublisher(),
        MemoryOwned(),
        lambda: template,
        CountingTrigger(),
        LocalFiles(),
        force_copy=force_copy,
    )


async def test_same_device_move_then_catalog_then_event(tmp_path: Path, catalog: SqlCatalog) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    event = tagged(staging, 1)
    inode = os.stat(event.staging_path).st_ino
    lib = make_library(root, catalog)
    out = await lib.import_tagged(event, 7)
    assert isinstance(out, TrackImported)
    assert out.path == "Cold Harbour/Night Drive (2019)/1-01 Song 1.mp3"
    target = root / out.path
    assert target.stat().st_ino == inode  # renamed, not copied
    assert not Path(event.staging_path).exists()
    assert catalog.by_recording(str(event.track.recording_mbid)) is not None
    assert catalog.position("library_tagged") == 7
    assert lib.owned.entries[str(event.track.recording_mbid)] == (out.track_id, out.path)  # type: ignore[attr-defined]
    assert lib.publish.events == [out]  # type: ignore[attr-defined]
    assert out.causation_id == event.event_id and out.correlation_id == event.correlation_id
    assert out.origin is None  # not a recommendation: never a discovery


async def test_origin_and_user_travel_to_the_import(tmp_path: Path, catalog: SqlCatalog) -> None:
    event = tagged(tmp_path / "staging", 2).model_copy(update={"origin": CandidateSource.RADIO, "user": "ana"})
    out = await make_library(tmp_path / "music", catalog).import_tagged(event, 1)
    assert isinstance(out, TrackImported)
    assert out.origin is CandidateSource.RADIO and out.user == "ana"


async def test_forced_copy_path(tmp_path: Path, catalog: SqlCatalog) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    event = tagged(staging, 2, fmt="flac")
    inode = os.stat(event.staging_path).st_ino
    out = await make_library(root, catalog, force_copy=True).import_tagged(event, 1)
    assert isinstance(out, TrackImported)
    target = root / out.path
    assert target.stat().st_ino != inode and target.stat().st_size == event.size_bytes
    assert not Path(event.staging_path).exists()
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".part")]  # no temp file left behind


async def test_cross_device_move_through_tmpfs(tmp_path: Path, catalog: SqlCatalog) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no tmpfs on another device than the test folder")
    staging = shm / f"bs-staging-{uuid.uuid4().hex}"
    try:
        event = tagged(staging, 3, fmt="ogg")
        out = await make_library(tmp_path / "music", catalog).import_tagged(event, 1)
        assert isinstance(out, TrackImported)
        assert (tmp_path / "music" / out.path).stat().st_size == event.size_bytes
        assert not Path(event.staging_path).exists()
    finally:
        for p in staging.glob("*"):
            p.unlink()
        staging.rmdir()


async def test_redelivery_finds_the_file_in_place(tmp_path: Path, catalog: SqlCatalog) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    event = tagged(staging, 4)
    lib = make_library(root, catalog)
    first = await lib.import_tagged(event, 3)
    target = root / first.path  # type: ignore[attr-defined]
    before = target.stat()
    second = await lib.import_tagged(event, 3)
    after = target.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # nothing moved or copied
    assert isinstance(second, TrackImported) and isinstance(first, TrackImported)
    assert second.event_id == first.event_id  # the same id: the server's dedup drops the copy
    assert (second.track_id, second.path, second.size_bytes) == (first.track_id, first.path, first.size_bytes)
    assert len(list(root.rglob("*.mp3"))) == 1


async def test_two_recordings_on_one_path_get_distinct_names(tmp_path: Path, catalog: SqlCatalog) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    lib = make_library(root, catalog)
    a = tagged(staging, 5, title="Same", mbid=uuid.uuid4(), freq=500)
    b = tagged(staging, 5, title="Same", mbid=uuid.uuid4(), freq=600)
    out_a = await lib.import_tagged(a, 1)
    out_b = await lib.import_tagged(b, 2)
    assert isinstance(out_a, TrackImported) and isinstance(out_b, TrackImported)
    assert out_a.path != out_b.path and out_a.track_id != out_b.track_id
    assert f"[{str(b.track.recording_mbid)[:8]}]" in out_b.path
    assert (root / out_a.path).exists() and (root / out_b.path).exists()


async def test_hostile_metadata_lands_inside_the_root(tmp_path: Path, catalog: SqlCatalog) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    lib = make_library(root, catalog)
    event = tagged(staging, 6, title="../../../escape\x00" + "x" * 300, album="..", artist="CON")
    out = await lib.import_tagged(event, 1)
    assert isinstance(out, TrackImported)
    assert (root / out.path).resolve().is_relative_to(root.resolve())
    audio = [p for p in tmp_path.rglob("*.mp3")]
    assert audio == [root / out.path]
    assert catalog.by_path(out.path) is not None


async def test_checksum_mismatch_and_missing_staging_are_answers(tmp_path: Path, catalog: SqlCatalog) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    lib = make_library(root, catalog)
    bad = tagged(staging, 7).model_copy(update={"sha256": "0" * 64})
    out = await lib.import_tagged(bad, 1)
    assert isinstance(out, ImportFailed) and out.reason is ImportFailureReason.CHECKSUM_MISMATCH
    assert Path(bad.staging_path).exists()  # left for inspection
    gone = tagged(staging, 8)
    Path(gone.staging_path).unlink()
    out = await lib.import_tagged(gone, 2)
    assert isinstance(out, ImportFailed) and out.reason is ImportFailureReason.STAGING_MISSING


async def test_live_template_is_used(tmp_path: Path, catalog: SqlCatalog) -> None:
    lib = make_library(tmp_path / "music", catalog, template="{artist}/{title}.{ext}")
    out = await lib.import_tagged(tagged(tmp_path / "staging", 9), 1)
    assert isinstance(out, TrackImported) and out.path == "Cold Harbour/Song 9.mp3"
