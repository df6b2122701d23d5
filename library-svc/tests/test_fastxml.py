"""Songs and albums written straight from their rows (fastxml) give the very bytes the generic renderer writes
for their dicts (shapes), on SQLite and PostgreSQL rows, with hostile text and every kind of user state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.catalogreader import CatalogReader
from library_svc.adapters.schema import album_t, track_t
from library_svc.api.fastxml import AlbumItem, SongItem
from library_svc.api.render import render
from library_svc.api.shapes import album_id3, song
from library_svc.domain.model import AudioProps, TrackInfo
from library_svc.domain.usermarks import UserState

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
HOSTILE = ["Quote \" & <tag> 'apos'", "Tab\tnew\nline\rcr", "Bell\x07nul\x00esc\x1b", "Emoji 🎵 مرحبا", ""]


def _infos() -> list[TrackInfo]:
    infos = []
    for i, text in enumerate(HOSTILE * 2):
        infos.append(
            TrackInfo(
                path=f"{text.replace(chr(0), '') or 'x'}/{i}.flac",  # a real path has no NUL
                size=10_000 + i,
                mtime_ns=i,
                title=text or "untitled",
                artist=f"Artist {text}",
                album=f"Album {text} {i % 3}",
                album_artist=f"AA {text}",
                created=T0 + timedelta(seconds=i),
                track_no=i if i % 2 else None,
                disc_no=1 if i % 3 else None,
                year=1999 + i if i % 4 else None,
                genres=(text,) if i % 5 == 1 else (("Rock",) if i % 5 == 2 else ()),
                recording_mbid=f"mbid-{i}" if i % 2 else None,
                audio=AudioProps(duration_s=61.5, bitrate_kbps=900, sample_rate=48000, channels=2),
            )
        )
    return infos


def _states(ids: list[str]) -> list[UserState]:
    empty, full, partial = UserState(), UserState(), UserState()
    for n, item_id in enumerate(ids):
        full.starred[item_id] = T0 + timedelta(days=n)
        full.rating[item_id] = n % 5 + 1
        full.plays[item_id] = (n + 3, T0 + timedelta(hours=n))
        if n % 3 == 0:
            partial.plays[item_id] = (n, T0)
        elif n % 3 == 1:
            partial.rating[item_id] = 4
    return [empty, full, partial]


def test_fast_items_render_as_their_dicts(engine: Engine) -> None:
    SqlCatalog(engine).upsert(_infos())
    with engine.connect() as conn:
        tracks = conn.execute(select(track_t).order_by(track_t.c.id)).all()
        albums = conn.execute(select(album_t).order_by(album_t.c.id)).all()
    assert len(tracks) == 10 and len(albums) >= 5
    for state in _states([r.id for r in (*tracks, *albums)]):
        fast = {"x": {"song": [SongItem(r, state) for r in tracks], "album": [AlbumItem(r, state) for r in albums]}}
        plain = {"x": {"song": [song(r, state) for r in tracks], "album": [album_id3(r, state) for r in albums]}}
        for fmt in ("xml", "json", "jsonp"):
            assert render(fast, fmt, "cb") == render(plain, fmt, "cb")
    # the hostile text really was there, escaped
    xml = render({"x": {"song": [SongItem(r, UserState()) for r in tracks]}}, "xml", None)[0].decode()
    assert "&quot; &amp; &lt;tag&gt;" in xml and "&#9;" in xml and "\x07" not in xml and "🎵" in xml


def test_rows_the_reader_serves_render_as_plain_rows(engine: Engine) -> None:
    # on SQLite the reader keeps a song's `created` as the stored text; the answers must not change for it
    SqlCatalog(engine).upsert(_infos())
    reader = CatalogReader(engine)
    with engine.connect() as conn:
        plain = {r.id: r for r in conn.execute(select(track_t)).all()}
    state = _states(list(plain))[2]
    served = [
        *reader.search([], (0, 0, 100), (0, 0, 0))[2],
        *reader.search(["album"], (0, 0, 100), (0, 0, 0))[2],
        *[t for album_id in {r.album_id for r in plain.values()} for t in reader.album_tracks(album_id)],
    ]
    assert len(served) == 30
    for fmt in ("xml", "json"):
        fast = render({"x": {"song": [SongItem(r, state) for r in served]}}, fmt, None)
        generic = render({"x": {"song": [song(r, state) for r in served]}}, fmt, None)
        expected = render({"x": {"song": [song(plain[r.id], state) for r in served]}}, fmt, None)
        assert fast == generic == expected
