"""The SQL behind the Subsonic endpoints' reads (`ports.CatalogReads`).

Each list query is served by an index (see test_query_plans)."""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    and_,
    bindparam,
    column,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.exc import OperationalError

from ..domain.queries import parse_query
from ..domain.usermarks import UserState
from ..domain.versions import Versions
from ..ports import OverBudget
from .paging import Pager
from .schema import (
    album_play_t,
    album_t,
    artist_t,
    genre_t,
    play_t,
    rating_t,
    star_t,
    track_t,
)

__all__ = ["CatalogReader"]

_STEPS_PER_CALL = 1000


def _words(column: Any, words: Sequence[str]) -> Any:
    # `search` holds " word word …": `LIKE '% w%'` matches words starting with w
    return and_(*[column.like(f"% {w}%") for w in words])


def _user_state_query(json_ids: bool) -> Any:
    """Stars, ratings and plays of one user for a list of ids. With `json_ids` (SQLite) the ids travel as one JSON
    array read by `json_each`, so the statement is compiled once; an expanding `IN` is re-rendered for every
    request (its bind list changes), which cost more than the query itself."""
    s, r, p, ap = star_t, rating_t, play_t, album_play_t
    user: Any = bindparam("user")
    ids: Any = bindparam("ids", expanding=True)
    if json_ids:
        ids = select(column("value")).select_from(func.json_each(bindparam("ids")))
    return union_all(
        select(literal("s"), s.c.item_id, literal(0), s.c.starred_at).where(s.c.username == user, s.c.item_id.in_(ids)),
        select(literal("r"), r.c.item_id, r.c.rating, literal(None)).where(r.c.username == user, r.c.item_id.in_(ids)),
        select(literal("p"), p.c.track_id, p.c.count, p.c.last_played).where(
            p.c.username == user, p.c.track_id.in_(ids)
        ),
        select(literal("p"), ap.c.album_id, ap.c.count, ap.c.last_played).where(
            ap.c.username == user, ap.c.album_id.in_(ids)
        ),
    )


class CatalogReader:
    """Reads for the API. Statements are built once; `with_connection` lets one request use one connection."""

    def __init__(self, engine: Engine, versions: Versions | None = None) -> None:
        self.engine = engine
        self.versions = versions or Versions()
        # SQLite answers a bounded index read in well under a millisecond: cheaper on the event loop than the hop
        # to a worker thread and back (and the GIL hand-offs that hop costs under load). PostgreSQL reads go over
        # the network, so they always run in a worker thread.
        self.inline = engine.dialect.name == "sqlite"
        self._word_search: dict[tuple[str, int], Any] = {}
        self._pager = Pager(self.versions, self._all, self._served)
        self._ids: dict[str, tuple[Any, list[str]]] = {}
        self._local = threading.local()
        self._user_state = _user_state_query(self.inline)
        self._by_id = {t.name: select(t).where(t.c.id == bindparam("id")) for t in (track_t, album_t, artist_t)}
        self._album_tracks = (
            self._served(track_t)
            .where(track_t.c.album_id == bindparam("id"))
            .order_by(track_t.c.album_id, track_t.c.disc_no, track_t.c.track_no)
        )

    def _served(self, table: Any) -> Any:
        """`select(table)` for rows the API serves. On SQLite a song's `created` stays the stored UTC text
        (`YYYY-MM-DD HH:MM:SS.ffffff`, which `rfc3339` reads) instead of being parsed into a datetime and given a
        timezone for each row: a tenth of the cost of a 100-song page. Columns keep the table's order."""
        if not self.inline or table is not track_t:
            return select(table)
        return select(*[type_coerce(c, String).label(c.name) if c.name == "created" else c for c in table.c])

    @contextlib.contextmanager
    def with_connection(self, budget: int | None = None) -> Iterator[None]:
        """Run several reads of one request on one pooled connection (checked out once).

        With a `budget` of SQLite virtual-machine steps (SQLite only), SQLite interrupts the reads once they have
        taken that many and `OverBudget` is raised: the caller tries a read on the event loop and hands it to a
        worker thread if it is long. Steps, not seconds: a busy machine must not turn quick reads into slow ones."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.engine.connect() as conn:
            self._local.conn = conn
            raw: Any = None
            if budget is not None:
                left = [budget // _STEPS_PER_CALL]

                def spend() -> bool:
                    left[0] -= 1
                    return left[0] < 0

                raw = conn.connection.dbapi_connection
                raw.set_progress_handler(spend, _STEPS_PER_CALL)
            try:
                yield
            except OperationalError as exc:
                if raw is not None and "interrupt" in str(exc.orig):
                    raise OverBudget from exc
                raise
            finally:
                self._local.conn = None
                if raw is not None:
                    raw.set_progress_handler(None, 0)

    def _all(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return list(conn.execute(stmt, params or {}).all())
        with self.engine.connect() as fresh:
            return list(fresh.execute(stmt, params or {}).all())

    def user_state(self, user: str, item_ids: Sequence[str]) -> UserState:
        """Stars, ratings and play counts of `user` for these items: one UNION query per 500 ids."""
        state = UserState()
        ids = list(dict.fromkeys(item_ids))
        for i in range(0, len(ids), 500):
            part: Any = ids[i : i + 500]
            if self.inline:
                part = json.dumps(part)
            for kind, item_id, number, when in self._all(self._user_state, {"user": user, "ids": part}):
                if kind == "s":
                    state.starred[item_id] = when
                elif kind == "r":
                    state.rating[item_id] = number
                else:
                    state.plays[item_id] = (number, when)
        return state

    def album_with_tracks(self, album_id: str) -> list[Any]:
        """[album, *tracks], or [] when there is no such album."""
        album = self.album(album_id)
        return [album, *self.album_tracks(album_id)] if album is not None else []

    # single items -------------------------------------------------------------------------------------------------

    def track(self, track_id: str) -> Any | None:
        rows = self._all(self._by_id["track"], {"id": track_id})
        return rows[0] if rows else None

    def tracks(self, track_ids: Sequence[str]) -> list[Any]:
        """Tracks by id, in the order asked (a playlist may hold one track twice); unknown ids are dropped."""
        found: dict[str, Any] = {}
        unique = list(dict.fromkeys(track_ids))
        for i in range(0, len(unique), 500):
            for r in self._all(select(track_t).where(track_t.c.id.in_(unique[i : i + 500]))):
                found[r.id] = r
        return [found[t] for t in track_ids if t in found]

    def album(self, album_id: str) -> Any | None:
        rows = self._all(self._by_id["album"], {"id": album_id})
        return rows[0] if rows else None

    def artist(self, artist_id: str) -> Any | None:
        rows = self._all(self._by_id["artist"], {"id": artist_id})
        return rows[0] if rows else None

    def album_tracks(self, album_id: str) -> list[Any]:
        return self._all(self._album_tracks, {"id": album_id})

    def artist_albums(self, artist_id: str) -> list[Any]:
        return self._all(
            select(album_t).where(album_t.c.artist_id == artist_id).order_by(album_t.c.artist_id, album_t.c.year)
        )

    def artists(self) -> list[Any]:
        return self._all(
            select(artist_t).where(artist_t.c.album_count > 0).order_by(artist_t.c.sort_name, artist_t.c.id)
        )

    def genres(self) -> list[Any]:
        return self._all(select(genre_t).order_by(genre_t.c.name))

    # lists --------------------------------------------------------------------------------------------------------

    def _all_ids(self, table: Any) -> list[str]:
        """Every id of a table, kept until the catalog changes: random picks without `ORDER BY random()`."""
        stamp = self.versions.stamp("")
        cached = self._ids.get(table.name)
        if cached is None or cached[0] != stamp:
            cached = (stamp, [r[0] for r in self._all(select(table.c.id))])
            self._ids[table.name] = cached
        return cached[1]

    def _by_ids(self, table: Any, wanted: Sequence[str]) -> list[Any]:
        """Rows for ids, in the order given."""
        found: dict[str, Any] = {}
        for i in range(0, len(wanted), 500):
            for row in self._all(select(table).where(table.c.id.in_(list(wanted[i : i + 500])))):
                found[row.id] = row
        return [found[i] for i in wanted if i in found]

    def _random(self, table: Any, size: int) -> list[Any]:
        ids = self._all_ids(table)
        return self._by_ids(table, random.sample(ids, min(size, len(ids))))

    def album_list(self, user: str, kind: str, size: int, offset: int, **opts: Any) -> list[Any]:
        a = album_t
        stmt = select(a)
        if kind == "random":
            return self._random(album_t, size)
        if kind == "newest":
            stmt = stmt.order_by(a.c.created.desc(), a.c.id.desc())
        elif kind == "alphabeticalByName":
            stmt = stmt.order_by(a.c.sort_name, a.c.id)
        elif kind == "alphabeticalByArtist":
            stmt = stmt.order_by(a.c.artist_sort, a.c.sort_name)
        elif kind == "byYear":
            lo, hi = opts["from_year"], opts["to_year"]
            if lo <= hi:
                stmt = stmt.where(a.c.year.between(lo, hi)).order_by(a.c.year, a.c.sort_name)
            else:
                stmt = stmt.where(a.c.year.between(hi, lo)).order_by(a.c.year.desc(), a.c.sort_name.desc())
        elif kind == "byGenre":
            stmt = stmt.where(a.c.genre == opts["genre"]).order_by(a.c.genre, a.c.sort_name)
        elif kind == "starred":
            s = star_t
            stmt = (
                select(a)
                .join(s, and_(s.c.item_id == a.c.id, s.c.username == user, s.c.kind == "album"))
                .order_by(s.c.starred_at.desc())
            )
        elif kind == "highest":
            r = rating_t
            stmt = (
                select(a)
                .join(r, and_(r.c.item_id == a.c.id, r.c.username == user))
                .order_by(r.c.rating.desc(), r.c.item_id.desc())
            )
        elif kind in ("frequent", "recent"):
            p = album_play_t
            order = p.c.count.desc() if kind == "frequent" else p.c.last_played.desc()
            stmt = select(a).join(p, and_(p.c.album_id == a.c.id, p.c.username == user)).order_by(order)
        else:
            raise ValueError(kind)
        return self._all(stmt.limit(size).offset(offset))

    def random_songs(self, size: int, genre: str | None, from_year: int | None, to_year: int | None) -> list[Any]:
        if genre is None and from_year is None and to_year is None:
            return self._random(track_t, size)
        stmt = select(track_t)
        if genre:
            stmt = stmt.where(track_t.c.genre == genre)
        if from_year is not None:
            stmt = stmt.where(track_t.c.year >= from_year)
        if to_year is not None:
            stmt = stmt.where(track_t.c.year <= to_year)
        return self._all(stmt.order_by(func.random()).limit(size))

    def songs_by_genre(self, genre: str, count: int, offset: int) -> list[Any]:
        return self._all(
            select(track_t)
            .where(track_t.c.genre == genre)
            .order_by(track_t.c.genre, track_t.c.sort_title)
            .limit(count)
            .offset(offset)
        )

    def starred(self, user: str) -> tuple[list[Any], list[Any], list[Any]]:
        def of(table: Any, kind: str) -> list[Any]:
            s = star_t
            return self._all(
                select(table)
                .join(s, and_(s.c.item_id == table.c.id, s.c.username == user, s.c.kind == kind))
                .order_by(s.c.starred_at.desc())
            )

        return of(artist_t, "artist"), of(album_t, "album"), of(track_t, "song")

    def search(
        self, words: list[str], counts: tuple[int, int, int], offsets: tuple[int, int, int]
    ) -> tuple[list[Any], list[Any], list[Any]]:
        """Artists, albums, songs whose words start with every query word; all of them for no words.

        The order is stable (sort name, then id), so paging through an empty query visits each item once.
        """
        out: list[list[Any]] = []
        for table, sort, count, offset in (
            (artist_t, artist_t.c.sort_name, counts[0], offsets[0]),
            (album_t, album_t.c.sort_name, counts[1], offsets[1]),
            (track_t, track_t.c.sort_title, counts[2], offsets[2]),
        ):
            if count <= 0:
                out.append([])
            elif not words:
                out.append(self._pager.page(table, sort, count, offset))
            else:
                stmt = self._word_search.get((table.name, len(words)))
                if stmt is None:
                    stmt = self._word_search[(table.name, len(words))] = (
                        self._served(table)
                        .where(and_(*[table.c.search.like(bindparam(f"w{i}")) for i in range(len(words))]))
                        .order_by(sort, table.c.id)
                        .limit(bindparam("count"))
                        .offset(bindparam("offset"))
                    )
                # `search` holds " word word …": `LIKE '% w%'` matches words starting with w
                params = {f"w{i}": f"% {w}%" for i, w in enumerate(words)}
                out.append(self._all(stmt, {**params, "count": count, "offset": offset}))
        return out[0], out[1], out[2]

    def marks_ready(self, counts: tuple[int, int, int]) -> bool:
        """Whether an empty-query page of the lists asked for is a short index seek (see `Pager.ready`)."""
        return self._pager.ready(counts)

    def search_flat(
        self, words: list[str], counts: tuple[int, int, int], offsets: tuple[int, int, int]
    ) -> tuple[list[Any], list[Any], list[Any]]:
        return self.search(words, counts, offsets)

    def track_by_artist_title(self, artist: str, title: str) -> Any | None:
        words = parse_query(f"{artist} {title}")
        if not words:
            return None
        rows = self._all(select(track_t).where(_words(track_t.c.search, words)).limit(1))
        return rows[0] if rows else None
