"""Indexing an existing folder in place, and replaying the import stream into the same catalog."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from library_builders import tagged
from library_fakes import CountingTrigger, MemoryOwned, RecordingPublisher
from sqlalchemy import Engine, select

from contracts.library import ScanCompleted, ScanFailed
from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.files import LocalFiles
from library_svc.adapters.schema import album_t, artist_t, genre_t, projection_t, track_t
from library_svc.scanning import Scanner
from library_svc.service import Library
from library_svc.settings import DEFAULT_PATH_TEMPLATE
from tests.support.audio import make_library, write_tags


def snapshot(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(select(t)))
            for t in (artist_t, album_t, track_t, genre_t, projection_t)
        }


async def test_scan_indexes_in_place_skips_unchanged_and_notices_removals(tmp_path: Path, catalog: SqlCatalog) -> None:
    root = tmp_path / "music"
    paths = make_library(root, 10)
    publish, owned = RecordingPublisher(), MemoryOwned()
    scanner = Scanner(root, catalog, publish, owned)

    first = await scanner.scan()
    assert first is not None and (first.added, first.unchanged, first.removed) == (10, 0, 0)
    assert sorted(catalog.file_index()) == sorted(str(p.relative_to(root)) for p in paths)
    assert all((root / rel).exists() for rel in catalog.file_index())  # indexed in place, nothing moved

    again = await scanner.scan()
    assert again is not None and (again.added, again.updated, again.unchanged) == (0, 0, 10)

    write_tags(paths[0], "mp3", {"title": "Renamed", "musicbrainz_trackid": "0d9a1b7e-3c5e-4c8b-9b1e-5b6f7e8a9c0d"})
    st = paths[0].stat()
    os.utime(paths[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    paths[1].unlink()
    third = await scanner.scan()
    assert third is not None and (third.updated, third.removed, third.unchanged) == (1, 1, 8)
    assert owned.entries["0d9a1b7e-3c5e-4c8b-9b1e-5b6f7e8a9c0d"][1] == str(paths[0].relative_to(root))
    done = publish.of(ScanCompleted)
    assert [(e.added, e.updated, e.removed) for e in done] == [(10, 0, 0), (0, 0, 0), (0, 1, 1)]


async def test_full_scan_rereads_everything(tmp_path: Path, catalog: SqlCatalog) -> None:
    root = tmp_path / "music"
    make_library(root, 3)
    scanner = Scanner(root, catalog, RecordingPublisher(), MemoryOwned())
    await scanner.scan()
    report = await scanner.scan(full=True)
    assert report is not None and report.updated == 3


async def test_replaying_the_stream_gives_the_same_catalog(tmp_path: Path, engine: Engine) -> None:
    staging, root = tmp_path / "staging", tmp_path / "music"
    events = [tagged(staging, n, fmt=fmt) for n, fmt in enumerate(["mp3", "flac", "ogg", "opus", "m4a", "mp3"], 1)]
    catalog = SqlCatalog(engine)

    def library() -> Library:
        return Library(
            root,
            catalog,
            RecordingPublisher(),
            MemoryOwned(),
            lambda: DEFAULT_PATH_TEMPLATE,
            CountingTrigger(),
            LocalFiles(),
        )

    for seq, event in enumerate(events, 1):
        await library().import_tagged(event, seq)
    before = snapshot(engine)
    assert len(before["track"]) == 6 and before["projection"] == [("library_tagged", 6)]

    # replay on top: every message is applied again, nothing changes
    for seq, event in enumerate(events, 1):
        await library().import_tagged(event, seq)
    assert snapshot(engine) == before

    # rebuild from nothing: drop every row, replay the stream; the files are already in place
    with engine.begin() as conn:
        for t in (artist_t, album_t, track_t, genre_t, projection_t):
            conn.execute(t.delete())
    for seq, event in enumerate(events, 1):
        await library().import_tagged(event, seq)
    assert snapshot(engine) == before


async def test_missing_music_folder_is_a_published_failure(tmp_path: Path, catalog: SqlCatalog) -> None:
    publish = RecordingPublisher()
    report = await Scanner(tmp_path / "absent", catalog, publish, MemoryOwned()).scan()
    assert report is None
    [failed] = publish.of(ScanFailed)
    assert failed.target.value == "library" and failed.reason == "unreachable" and "absent" in failed.detail
