"""The queries of bookmarks, radio stations, the info cache and the library matching are served by indexes too."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text
from test_query_plans import assert_indexed, capture, sqlite  # noqa: F401 — `sqlite` is the shared fixture

from library_svc.adapters.database import create_schema
from library_svc.adapters.extrastore import ExtraStore
from library_svc.api.reads import CatalogReader
from library_svc.info.matching import LibraryMatch

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_extras_and_matching(sqlite: Engine) -> None:  # noqa: F811
    create_schema(sqlite)  # a second start: the extra indexes exist already, nothing fails
    with sqlite.begin() as conn:
        conn.execute(text("UPDATE artist SET mbid = id"))  # as tagged libraries have: one MBID per artist
        conn.execute(text("ANALYZE"))
    track = CatalogReader(sqlite).search([], (0, 0, 1), (0, 0, 0))[2][0]
    store = ExtraStore(sqlite)
    store.save_bookmark("ann", track.id, 5, "", T0)
    store.create_station("Night FM", "http://radio.invalid/a", None)
    store.save_info("lb_top:x", [], T0)
    match = LibraryMatch(sqlite)
    seen = capture(sqlite)
    store.bookmarks("ann")
    store.stations()
    store.info("lb_top:x")
    match.artist_by_name("Artist 3")
    match.artists_by_mbid(["5b11f4ce-a62d-471e-81fc-a69a8278c7da"])
    wanted = [
        {"recording_mbid": track.recording_mbid, "artist": track.artist, "title": track.title},
        {"recording_mbid": "0c3f1b9e-0000-4a3b-9c1e-000000000009", "artist": "Artist 4", "title": "Title 4"},
    ]
    found = match.tracks(wanted, 10)
    assert [t.title for t in found][-1] == "Title 4"  # matched by artist and title
    assert_indexed(sqlite, seen)
