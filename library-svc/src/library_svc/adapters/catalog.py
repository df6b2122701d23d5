"""Catalog writes: upserts by natural key, recounts, and the projection position in the same transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..domain import ids
from ..domain.model import TrackInfo
from .schema import album_t, artist_t, genre_t, projection_t, track_t

__all__ = ["OwnedTrack", "SqlCatalog"]


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

    def set_position(self, name: str, position: int) -> None:
        with self.engine.begin() as conn:
            self._set_position(conn, name, position)

    def remove(self, paths: Iterable[str], *, projection: tuple[str, int] | None = None) -> list[OwnedTrack]:
        paths = list(paths)
        removed: list[OwnedTrack] = []
        with self.engine.begin() as conn:
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
                self._recount(conn, {r[4] for r in rows}, {r[5] for r in rows}, {r[6] for r in rows if r[6]})
            if projection is not None:
                self._set_position(conn, *projection)
        self._on_change()
        return removed

    # internals ----------------------------------------------------------------------------------------------------

    def _insert(self, table: Table) -> Any:
        return (postgresql.insert if self._pg else sqlite.insert)(table)

    def _upsert_rows(self, conn: Connection, table: Table, rows: list[dict[str, Any]], keep: Sequence[str]) -> None:
        if not rows:
            return
        cache_key = (table.name, tuple(rows[0]), tuple(keep))
        stmt = self._upserts.get(cache_key)
        if stmt is None:  # built once per shape: `excluded` copies every column of the table each time
            insert = self._insert(table)
            key = [c.name for c in table.primary_key.columns]
            updates = {c: insert.excluded[c] for c in rows[0] if c not in key and c not in keep}
            stmt = self._upserts[cache_key] = insert.on_conflict_do_update(index_elements=key, set_=updates)
        conn.execute(stmt, rows)

    def _set_position(self, conn: Connection, name: str, position: int) -> None:
        self._upsert_rows(conn, projection_t, [{"name": name, "position": position}], ())

    def _upsert(self, conn: Connection, infos: Sequence[TrackInfo]) -> list[str]:
        artists: dict[str, dict[str, Any]] = {}
        albums: dict[str, dict[str, Any]] = {}
        tracks: list[dict[str, Any]] = []
        old_refs: set[tuple[str, str, str | None]] = set()
        for raw in infos:
            info = replace(
                raw,
                title=_clean(raw.title),
                artist=_clean(raw.artist),
                album=_clean(raw.album),
                album_artist=_clean(raw.album_artist),
                genres=tuple(_clean(g) for g in raw.genres),
            )
            tid = ids.track_id(info.path)
            aa_id = ids.artist_id(info.album_artist)
            a_id = ids.artist_id(info.artist)
            al_id = ids.album_id(info.album_artist, info.album)
            genre = info.genres[0] if info.genres else None
            for aid, name, mbid in ((aa_id, info.album_artist, info.album_artist_mbid), (a_id, info.artist, None)):
                if aid not in artists or (mbid and not artists[aid]["mbid"]):
                    artists[aid] = {
                        "id": aid,
                        "name": name,
                        "sort_name": ids.sort_key(name),
                        "mbid": mbid,
                        "search": ids.search_text(name),
                    }
            albums[al_id] = {
                "id": al_id,
                "name": info.album,
                "sort_name": ids.sort_key(info.album),
                "artist_id": aa_id,
                "artist": info.album_artist,
                "artist_sort": ids.sort_key(info.album_artist),
                "year": info.year,
                "genre": genre,
                "created": min(info.created, albums[al_id]["created"]) if al_id in albums else info.created,
                "mbid": info.release_mbid,
                "search": ids.search_text(info.album, info.album_artist),
            }
            parent = info.path.rpartition("/")[0]
            tracks.append(
                {
                    "id": tid,
                    "path": info.path,
                    "dir": parent,
                    "title": info.title,
                    "sort_title": ids.sort_key(info.title),
                    "album_id": al_id,
                    "album": info.album,
                    "artist_id": a_id,
                    "artist": info.artist,
                    "album_artist": info.album_artist,
                    "track_no": info.track_no,
                    "disc_no": info.disc_no,
                    "year": info.year,
                    "genre": genre,
                    "duration": round(info.audio.duration_s),
                    "bitrate": info.audio.bitrate_kbps,
                    "sample_rate": info.audio.sample_rate,
                    "channels": info.audio.channels,
                    "size": info.size,
                    "mtime_ns": info.mtime_ns,
                    "suffix": info.suffix,
                    "content_type": info.content_type,
                    "recording_mbid": info.recording_mbid,
                    "created": info.created,
                    "search": ids.search_text(info.title, info.artist, info.album),
                }
            )
        track_ids = [t["id"] for t in tracks]
        for chunk in _chunks(track_ids, 500):  # what the tracks pointed at before, to recount those too
            cols = (track_t.c.album_id, track_t.c.artist_id, track_t.c.genre)
            old_refs.update((r[0], r[1], r[2]) for r in conn.execute(select(*cols).where(track_t.c.id.in_(chunk))))
        self._upsert_rows(conn, artist_t, list(artists.values()), keep=("album_count",))
        self._upsert_rows(conn, album_t, list(albums.values()), keep=("created",))
        for chunk in _chunks(tracks, 500):
            self._upsert_rows(conn, track_t, list(chunk), keep=("created",))
        album_ids = set(albums) | {r[0] for r in old_refs}
        artist_ids = set(artists) | {r[1] for r in old_refs}
        genres = {t["genre"] for t in tracks if t["genre"]} | {r[2] for r in old_refs if r[2]}
        self._recount(conn, album_ids, artist_ids, genres)
        return track_ids

    def _recount(self, conn: Connection, album_ids: set[str], artist_ids: set[str], genres: set[str]) -> None:
        for chunk in _chunks(sorted(album_ids), 500):
            conn.execute(_RECOUNT_ALBUMS, {"ids": list(chunk)})
            conn.execute(_DROP_EMPTY_ALBUMS, {"ids": list(chunk)})
        for chunk in _chunks(sorted(artist_ids), 500):
            conn.execute(_RECOUNT_ARTISTS, {"ids": list(chunk)})
            conn.execute(_DROP_LONE_ARTISTS, {"ids": list(chunk)})
        if genres:
            rows = [
                {
                    "name": g,
                    "song_count": conn.execute(_GENRE_SONGS, {"g": g}).scalar() or 0,
                    "album_count": conn.execute(_GENRE_ALBUMS, {"g": g}).scalar() or 0,
                }
                for g in sorted(genres)
            ]
            self._upsert_rows(conn, genre_t, rows, ())
            conn.execute(delete(genre_t).where(genre_t.c.song_count == 0))


def _recount_statements() -> tuple[Any, ...]:
    """Built once (construction cost more than running them): counts follow the tracks they summarise."""
    t2, a2 = track_t.alias("t2"), album_t.alias("a2")
    ids: Any = bindparam("ids", expanding=True)
    first = (
        select(t2.c.id)
        .where(t2.c.album_id == album_t.c.id)
        .order_by(t2.c.disc_no, t2.c.track_no, t2.c.sort_title)
        .limit(1)
        .scalar_subquery()
    )
    albums = (
        update(album_t)
        .where(album_t.c.id.in_(ids))
        .values(
            song_count=select(func.count()).where(t2.c.album_id == album_t.c.id).scalar_subquery(),
            duration=select(func.coalesce(func.sum(t2.c.duration), 0))
            .where(t2.c.album_id == album_t.c.id)
            .scalar_subquery(),
            cover_track_id=first,
        )
    )
    drop_albums = delete(album_t).where(album_t.c.id.in_(ids), album_t.c.song_count == 0)
    artists = (
        update(artist_t)
        .where(artist_t.c.id.in_(ids))
        .values(album_count=select(func.count()).where(a2.c.artist_id == artist_t.c.id).scalar_subquery())
    )
    orphan = ~select(t2.c.id).where(t2.c.artist_id == artist_t.c.id).exists()
    drop_artists = delete(artist_t).where(artist_t.c.id.in_(ids), artist_t.c.album_count == 0, orphan)
    genre_songs = select(func.count()).where(track_t.c.genre == bindparam("g"))
    genre_albums = select(func.count()).where(album_t.c.genre == bindparam("g"))
    return albums, drop_albums, artists, drop_artists, genre_songs, genre_albums


_RECOUNT_ALBUMS, _DROP_EMPTY_ALBUMS, _RECOUNT_ARTISTS, _DROP_LONE_ARTISTS, _GENRE_SONGS, _GENRE_ALBUMS = (
    _recount_statements()
)
_CONTROL = dict.fromkeys(range(32))


def _clean(text: str) -> str:
    """Display text without control characters (PostgreSQL refuses NUL; clients choke on the rest)."""
    return text.translate(_CONTROL).strip() or "Unknown"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
