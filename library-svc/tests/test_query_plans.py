"""Every Subsonic query is served by an index: EXPLAIN QUERY PLAN on SQLite shows no full scan and no sort."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.catalogreader import CatalogReader
from library_svc.adapters.database import create_catalog_engine, create_schema
from library_svc.adapters.paging import MARK_STRIDE
from library_svc.adapters.userdata import UserStore
from library_svc.domain.model import TrackInfo
from library_svc.domain.queries import ALBUM_LIST_TYPES

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    create_schema(engine)
    infos = [
        TrackInfo(
            path=f"A{i % 7}/B{i % 13}/{i}.mp3",
            size=1000 + i,
            mtime_ns=i,
            title=f"Title {i}",
            artist=f"Artist {i % 7}",
            album=f"Album {i % 13}",
            album_artist=f"Artist {i % 7}",
            created=T0 + timedelta(minutes=i),
            track_no=i % 12,
            disc_no=1,
            year=1990 + i % 30,
            genres=("Rock" if i % 2 else "Jazz",),
            recording_mbid=str(uuid.uuid5(uuid.NAMESPACE_URL, str(i))) if i % 3 else None,
        )
        for i in range(300)
    ]
    SqlCatalog(engine).upsert(infos)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    yield engine
    engine.dispose()


def capture(engine: Engine) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    return seen


def plan(engine: Engine, statement: str, parameters: Any) -> str:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
        return "\n".join(str(row[3]) for row in cur.fetchall())
    finally:
        raw.close()


def assert_indexed(engine: Engine, seen: list[tuple[str, Any]], *, allow_sort: bool = False) -> list[str]:
    assert seen, "no query was captured"
    plans = [plan(engine, s, p) for s, p in seen]
    for (statement, _), text_plan in zip(seen, plans, strict=True):
        for line in text_plan.splitlines():
            if line.startswith("SCAN ") and "INDEX" not in line and "CONSTANT ROW" not in line:
                raise AssertionError(f"full scan in\n{text_plan}\nfor\n{statement}")
            if "TEMP B-TREE" in line and not allow_sort:
                raise AssertionError(f"sort without an index in\n{text_plan}\nfor\n{statement}")
    return plans


@pytest.mark.parametrize("kind", [k for k in ALBUM_LIST_TYPES if k != "random"])
def test_album_lists(sqlite: Engine, kind: str) -> None:
    reader = CatalogReader(sqlite)
    opts: dict[str, Any] = {}
    if kind == "byYear":
        opts = {"from_year": 1995, "to_year": 2000}
    if kind == "byGenre":
        opts = {"genre": "Rock"}
    seen = capture(sqlite)
    reader.album_list("ann", kind, 10, 5, **opts)
    assert_indexed(sqlite, seen)


def test_browse_and_search_queries(sqlite: Engine) -> None:
    reader = CatalogReader(sqlite)
    store = UserStore(sqlite)
    some = reader.search([], (5, 5, 5), (0, 0, 0))
    track, album, artist = some[2][0], some[1][0], some[0][0]
    store.star("ann", [(track.id, "song"), (album.id, "album"), (artist.id, "artist")], T0)
    store.set_rating("ann", album.id, 4)
    store.record_play("ann", track.id, album.id, T0)
    seen = capture(sqlite)
    reader.artists()
    reader.artist(artist.id)
    reader.artist_albums(artist.id)
    reader.album(album.id)
    reader.album_tracks(album.id)
    reader.track(track.id)
    reader.tracks([track.id])
    reader.songs_by_genre("Rock", 10, 20)
    reader.starred("ann")
    reader.search([], (10, 10, 10), (20, 20, 20))
    reader.user_state("ann", [track.id, album.id, artist.id])
    reader.genres()
    catalog = SqlCatalog(sqlite)
    catalog.by_path(track.path)
    catalog.by_recording("0d9a1b7e-3c5e-4c8b-9b1e-5b6f7e8a9c0d")
    catalog.by_id(track.id)
    store.playlists("ann")
    store.play_queue("ann")
    assert_indexed(sqlite, seen)


def test_word_search_walks_an_index_in_order(sqlite: Engine) -> None:
    # a word search filters with LIKE (no index can answer "a word starts with"), but it walks the sort index and
    # stops at the page size rather than sorting the whole table
    seen = capture(sqlite)
    CatalogReader(sqlite).search(["title"], (5, 5, 5), (0, 0, 0))
    plans = assert_indexed(sqlite, seen)
    assert all("USING INDEX" in p for p in plans)


def test_empty_query_pages_seek_from_marks(sqlite: Engine) -> None:
    # a deep page of an empty search seeks to the nearest paging mark through the (sort, id) index, and the pages
    # are exactly the slices of the whole catalog in its stable order, across mark boundaries
    reader = CatalogReader(sqlite)
    everything = [r.id for r in reader.search([], (0, 0, 1000), (0, 0, 0))[2]]
    assert len(everything) == 300 and MARK_STRIDE < 300
    seen = capture(sqlite)
    for offset in (MARK_STRIDE - 1, MARK_STRIDE, MARK_STRIDE + 7, 2 * MARK_STRIDE + 3, 299, 300, 5000):
        page = reader.search([], (0, 0, 25), (0, 0, offset))[2]
        assert [r.id for r in page] == everything[offset : offset + 25], offset
    deep = [p for p in assert_indexed(sqlite, seen) if "(sort_title,id)>" in p]
    assert deep and all("SEARCH track USING INDEX ix_track_sort" in p for p in deep)
