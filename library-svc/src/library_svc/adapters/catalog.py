"""Catalog writes: upserts by natural key, recounts, and the projection position in the same transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, select
from sqlalchemy.dialects import sqlite

from ..domain import ids
from ..domain.model import TrackInfo
from .catalog_rows import ALBUM_COLS, ARTIST_COLS, TRACK_COLS, PreparedTrack, prepare
from .catalog_sql import (
    DROP_EMPTY_ALBUMS,
    DROP_LONE_ARTISTS,
    DROP_TRACKLESS_ALBUMS,
    GENRE_ALBUMS,
    GENRE_SONGS,
    RECOUNT_ALBUMS,
    RECOUNT_ARTISTS,
    REFS_SQLITE,
)
from .schema import album_t, artist_t, genre_t, projection_t, track_t

__all__ = ["OwnedTrack", "Removal", "SqlCatalog"]


_Raw = tuple[str, tuple[int | tuple[str, Any], ...], tuple[Any, ...], bool]
"""An upsert compiled for SQLite: SQL; per parameter, the index of its value in a row or (column, default) for one
the rows leave out; the parameters' bind processors; whether rows go in as they are (no defaults, no processors)."""


@dataclass(frozen=True)
class Removal:
    """A track leaves the catalog (its file is gone): a change `SqlCatalog.fold` applies in order with upserts."""

    path: str


@dataclass(frozen=True)
class OwnedTrack:
    track_id: str
    path: str
    recording_mbid: str | None
    size: int


class SqlCatalog:
    def __init__(self, engine: Engine, on_change: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self._pg = engine.dialect.name == "postgresql"
        self._on_change = on_change or (lambda: None)
        self._upserts: dict[tuple[Any, ...], Any] = {}
        self._raw: dict[tuple[Any, ...], _Raw] = {}

    # reads used by the writers ------------------------------------------------------------------------------------

    def position(self, name: str) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(projection_t.c.position).where(projection_t.c.name == name)).scalar()
        return int(value or 0)

    def by_path(self, path: str) -> OwnedTrack | None:
        return self._one(track_t.c.path == path)

    def by_id(self, track_id: str) -> OwnedTrack | None:
        return self._one(track_t.c.id == track_id)

    def by_recording(self, mbid: str) -> OwnedTrack | None:
        return self._one(track_t.c.recording_mbid == mbid)

    def _one(self, where: Any) -> OwnedTrack | None:
        cols = (track_t.c.id, track_t.c.path, track_t.c.recording_mbid, track_t.c.size)
        with self.engine.connect() as conn:
            row = conn.execute(select(*cols).where(where).limit(1)).first()
        return OwnedTrack(row[0], row[1], row[2], row[3]) if row else None

    def file_index(self) -> dict[str, tuple[int, int]]:
        """path → (size, mtime_ns) of every file the catalog knows: what an unchanged rescan compares against."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(track_t.c.path, track_t.c.size, track_t.c.mtime_ns))
            return {r[0]: (r[1], r[2]) for r in rows}

    def owned(self) -> list[OwnedTrack]:
        cols = (track_t.c.id, track_t.c.path, track_t.c.recording_mbid, track_t.c.size)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*cols).where(track_t.c.recording_mbid.is_not(None)))
            return [OwnedTrack(r[0], r[1], r[2], r[3]) for r in rows]

    # writes -------------------------------------------------------------------------------------------------------

    def upsert(self, infos: Sequence[TrackInfo], *, projection: tuple[str, int] | None = None) -> list[str]:
        """Insert or update tracks (and their artists, albums, genres) in one transaction; return the track ids.

        With `projection`, its position is written in the same transaction, so rows and position never disagree.
        """
        with self.engine.begin() as conn:
            track_ids = self._upsert(conn, infos)
            if projection is not None:
                self._set_position(conn, *projection)
        self._on_change()
        return track_ids

    def remove(self, paths: Iterable[str], *, projection: tuple[str, int] | None = None) -> list[OwnedTrack]:
        with self.engine.begin() as conn:
            removed = self._remove(conn, list(paths))
            if projection is not None:
                self._set_position(conn, *projection)
        self._on_change()
        return removed

    def fold(self, changes: Sequence[PreparedTrack | Removal], *, projection: tuple[str, int]) -> None:
        """Apply upserts and removals in their order, in one transaction with the projection's position (replay)."""
        touched = _Touched()
        with self.engine.begin() as conn:
            removed_paths = [c.path for c in changes if isinstance(c, Removal)]
            album_at = self._albums_at(conn, removed_paths)  # path → album, as the batch goes on
            ups = _Pending()  # upserts waiting
            rems = _Pending()  # removals waiting
            # Waiting changes are applied in two statements' worth of batches. An upsert and a removal commute
            # unless they concern the same file or the same album (emptying an album drops it, and one filled again
            # afterwards starts afresh): only then do the waiting ones of the other kind go in first.
            for change in changes:
                if isinstance(change, Removal):
                    was_in = album_at.get(change.path)
                    if ups.touches(change.path, was_in):
                        self._write(conn, ups.take_prepared(), touched)
                    rems.add(change, change.path, was_in)
                else:
                    path, album = change.path, change.album_id
                    if rems.touches(path, album):
                        self._remove(conn, rems.take_paths(), touched)
                    ups.add(change, path, album)
                    album_at[path] = album
            if rems.items:
                self._remove(conn, rems.take_paths(), touched)
            if ups.items:
                self._write(conn, ups.take_prepared(), touched)
            # the counts summarise the final tracks, so one recount at the end gives what one per change would
            self._recount(conn, touched.albums, touched.artists, touched.genres)
            self._set_position(conn, *projection)
        self._on_change()

    # internals ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _albums_at(conn: Connection, paths: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(paths, 500):
            out.update(conn.execute(select(track_t.c.path, track_t.c.album_id).where(track_t.c.path.in_(chunk))).all())
        return out

    def _remove(self, conn: Connection, paths: list[str], touched: _Touched | None = None) -> list[OwnedTrack]:
        """Delete the tracks and recount what they pointed at; with `touched`, collect that for a later recount
        (an album left empty is still dropped now, so one filled again later in the batch starts afresh)."""
        removed: list[OwnedTrack] = []
        for chunk in _chunks(paths, 500):
            cols = (
                track_t.c.id,
                track_t.c.path,
                track_t.c.recording_mbid,
                track_t.c.size,
                track_t.c.album_id,
                track_t.c.artist_id,
                track_t.c.genre,
            )
            rows = conn.execute(select(*cols).where(track_t.c.path.in_(chunk))).all()
            if not rows:
                continue
            removed.extend(OwnedTrack(r[0], r[1], r[2], r[3]) for r in rows)
            conn.execute(delete(track_t).where(track_t.c.path.in_(chunk)))
            albums, artists, genres = {r[4] for r in rows}, {r[5] for r in rows}, {r[6] for r in rows if r[6]}
            if touched is None:
                self._recount(conn, albums, artists, genres)
            else:
                touched.add(albums, artists, genres)
                conn.execute(DROP_TRACKLESS_ALBUMS, {"ids": sorted(albums)})
        return removed

    def _insert(self, table: Table) -> Any:
        if self._pg:  # imported here: a replay's fold process writes SQLite and starts without it
            from sqlalchemy.dialects import postgresql

            return postgresql.insert(table)
        return sqlite.insert(table)

    def _upsert_rows(
        self,
        conn: Connection,
        table: Table,
        given: tuple[str, ...],
        rows: list[tuple[Any, ...]],
        keep: Sequence[str],
        known: Sequence[str] = (),
        least: Sequence[str] = (),
    ) -> None:
        """Insert or update by primary key rows of the `given` columns (tuples in that order); `keep` columns are
        never updated, `known` ones not set back to NULL, `least` ones keep the smaller of the two values (so the
        result does not depend on the order rows arrive in)."""
        if not rows:
            return
        cache_key = (table.name, given, tuple(keep), tuple(known), tuple(least))
        stmt = self._upserts.get(cache_key)
        if stmt is None:  # built once per shape: `excluded` copies every column of the table each time
            insert = self._insert(table)
            key = [c.name for c in table.primary_key.columns]
            updates = {c: insert.excluded[c] for c in given if c not in key and c not in keep}
            for c in known:
                updates[c] = func.coalesce(insert.excluded[c], table.c[c])
            for c in least:  # SQLite's two-argument min() is PostgreSQL's least()
                updates[c] = (func.least if self._pg else func.min)(insert.excluded[c], table.c[c])
            stmt = self._upserts[cache_key] = insert.on_conflict_do_update(index_elements=key, set_=updates)
        if self._pg:
            conn.execute(stmt, [dict(zip(given, r, strict=True)) for r in rows])
            return
        # SQLite: the statement compiled once and one executemany of tuples, converted column by column with the
        # columns' own bind processors; SQLAlchemy's per-row parameter handling cost as much as SQLite's insert
        sql, picks, procs, identity = self._raw.get(cache_key) or self._compile_raw(cache_key, stmt, table, given)
        if identity:
            conn.exec_driver_sql(sql, rows)
            return
        n = len(rows)
        columns = list(zip(*rows, strict=True))
        bound = [
            [pick[1]] * n if isinstance(pick, tuple) else (list(map(p, columns[pick])) if p else columns[pick])
            for pick, p in zip(picks, procs, strict=True)
        ]
        conn.exec_driver_sql(sql, list(zip(*bound, strict=True)))

    def _compile_raw(self, cache_key: tuple[Any, ...], stmt: Any, table: Table, given: tuple[str, ...]) -> _Raw:
        compiled = stmt.compile(dialect=self.engine.dialect, column_keys=list(given))
        keys = tuple(compiled.positiontup or ())
        picks: list[int | tuple[str, Any]] = []
        for k in keys:
            if k in given:
                picks.append(given.index(k))
                continue
            # a column the rows leave out gets its scalar default, as the insert would give it
            default = table.c[k].default
            if default is None or not default.is_scalar:
                raise TypeError(f"{table.name}.{k}: only scalar defaults can be filled in")
            picks.append((k, default.arg))
        dialect = self.engine.dialect
        procs = tuple(table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys)
        identity = picks == list(range(len(given))) and not any(procs)
        raw = self._raw[cache_key] = (compiled.string, tuple(picks), procs, identity)
        return raw

    def _set_position(self, conn: Connection, name: str, position: int) -> None:
        self._upsert_rows(conn, projection_t, ("name", "position"), [(name, position)], ())

    def _upsert(self, conn: Connection, infos: Sequence[TrackInfo], touched: _Touched | None = None) -> list[str]:
        return self._write(conn, [prepare(info) for info in infos], touched)

    def _write(self, conn: Connection, prepared: Sequence[PreparedTrack], touched: _Touched | None = None) -> list[str]:
        # Per track its row is built beforehand (`prepare`); an artist's or album's row is built once per batch from
        # what its last mention says (as one upsert per track would leave it), so sort keys and search words of a
        # name are worked out once, not once per track of it.
        artists: dict[str, tuple[str, str | None]] = {}  # id → (name, mbid)
        albums: dict[str, list[Any]] = {}  # id → [name, artist name, artist id, year, genre, created, mbid]
        tracks: list[tuple[Any, ...]] = []
        track_ids: list[str] = []
        genres: set[str] = set()
        for row, aa_id, aa_mbid, release_mbid in prepared:
            tid, _, _, _, _, al_id, album, a_id, artist, album_artist, _, _, year, genre = row[:14]
            created = row[23]
            if genre:
                genres.add(genre)
            # the last mention names the artist; a known MBID is never unlearned
            before = artists.get(a_id)
            artists[a_id] = (artist, before[1] if before else None)
            before = artists.get(aa_id)
            artists[aa_id] = (album_artist, aa_mbid or (before[1] if before else None))
            was = albums.get(al_id)
            if was is not None:
                created = min(created, was[5])
            albums[al_id] = [album, album_artist, aa_id, year, genre, created, release_mbid]
            track_ids.append(tid)
            tracks.append(row)
        sort_key, search_text = ids.sort_key, ids.search_text
        old_refs = list(self._refs_of(conn, track_ids))  # what the tracks pointed at before, to recount those too
        artist_rows = [(aid, name, sort_key(name), mbid, search_text(name)) for aid, (name, mbid) in artists.items()]
        self._upsert_rows(conn, artist_t, ARTIST_COLS, artist_rows, keep=("album_count",), known=("mbid",))
        album_rows = [
            (al_id, name, sort_key(name), aa_id, aa, sort_key(aa), year, genre, created, mbid, search_text(name, aa))
            for al_id, (name, aa, aa_id, year, genre, created, mbid) in albums.items()
        ]
        # an album was added when its first track was: the earliest, whatever order concurrent imports (or replicas)
        # are handled in, so a replay in stream order gives the same catalog as the live one
        self._upsert_rows(conn, album_t, ALBUM_COLS, album_rows, keep=(), least=("created",))
        for chunk in _chunks(tracks, 500):
            self._upsert_rows(conn, track_t, TRACK_COLS, list(chunk), keep=("created",))
        album_ids = set(albums) | {r[0] for r in old_refs}
        artist_ids = set(artists) | {r[1] for r in old_refs}
        genres |= {r[2] for r in old_refs if r[2]}
        if touched is None:
            self._recount(conn, album_ids, artist_ids, genres)
        else:
            touched.add(album_ids, artist_ids, genres)
        return track_ids

    def _refs_of(self, conn: Connection, track_ids: list[str]) -> Iterable[tuple[str, str, str | None]]:
        """(album, artist, genre) of the tracks that exist already among `track_ids`."""
        if not self._pg:  # one JSON parameter: binding each id of a large IN list cost more than the upsert
            for chunk in _chunks(track_ids, 20_000):
                yield from conn.execute(REFS_SQLITE, {"ids": json.dumps(list(chunk))})
            return
        cols = (track_t.c.album_id, track_t.c.artist_id, track_t.c.genre)
        for chunk in _chunks(track_ids, 500):
            yield from conn.execute(select(*cols).where(track_t.c.id.in_(chunk)))

    def _recount(self, conn: Connection, album_ids: set[str], artist_ids: set[str], genres: set[str]) -> None:
        for chunk in _chunks(sorted(album_ids), 500):
            conn.execute(RECOUNT_ALBUMS, {"ids": list(chunk)})
            conn.execute(DROP_EMPTY_ALBUMS, {"ids": list(chunk)})
        for chunk in _chunks(sorted(artist_ids), 500):
            conn.execute(RECOUNT_ARTISTS, {"ids": list(chunk)})
            conn.execute(DROP_LONE_ARTISTS, {"ids": list(chunk)})
        if genres:
            rows = [
                (
                    g,
                    conn.execute(GENRE_SONGS, {"g": g}).scalar() or 0,
                    conn.execute(GENRE_ALBUMS, {"g": g}).scalar() or 0,
                )
                for g in sorted(genres)
            ]
            self._upsert_rows(conn, genre_t, ("name", "song_count", "album_count"), rows, ())
            conn.execute(delete(genre_t).where(genre_t.c.song_count == 0))


@dataclass
class _Pending:
    """Changes of one kind waiting to be applied together, with the files and albums they concern."""

    items: list[PreparedTrack | Removal] = field(default_factory=list)
    paths: set[str] = field(default_factory=set)
    albums: set[str] = field(default_factory=set)

    def add(self, item: PreparedTrack | Removal, path: str, album: str | None) -> None:
        self.items.append(item)
        self.paths.add(path)
        if album is not None:
            self.albums.add(album)

    def touches(self, path: str, album: str | None) -> bool:
        return bool(self.items) and (path in self.paths or album in self.albums)

    def take_prepared(self) -> list[PreparedTrack]:
        prepared = [i for i in self.items if isinstance(i, PreparedTrack)]
        self.items, self.paths, self.albums = [], set(), set()
        return prepared

    def take_paths(self) -> list[str]:
        paths = [i.path for i in self.items]
        self.items, self.paths, self.albums = [], set(), set()
        return paths


@dataclass
class _Touched:
    """Albums, artists and genres whose counts a batch changed, recounted once at its end."""

    albums: set[str] = field(default_factory=set)
    artists: set[str] = field(default_factory=set)
    genres: set[str] = field(default_factory=set)

    def add(self, albums: set[str], artists: set[str], genres: set[str]) -> None:
        self.albums |= albums
        self.artists |= artists
        self.genres |= genres


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
