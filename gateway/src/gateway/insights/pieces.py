"""Ranges of time read from the keyed roll-ups: a range as a signed sum of roll-up buckets (`decompose`), and the
plays and listening time per key summed over those pieces (`_grouped`, and `_top` for the top lists of a month or
a year without reading every key of it). The sections of insights (compute.py) read through these.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["ALBUMS", "ARTISTS", "GENRES", "SOURCES", "TOP", "TRACKS", "Dim", "Piece", "decompose"]

TOP = 10
_DAY = 86400

# Levels of the roll-ups: raw plays (seconds), UTC hours, days, months (year * 12 + month - 1) and years.
_LEVELS = ("raw", "hour", "day", "month", "year")


def _floor(level: str, t: int) -> int:
    if level == "raw":
        return t
    if level == "hour":
        return t // 3600
    if level == "day":
        return t // _DAY
    d = datetime.fromtimestamp(t, UTC)
    return d.year * 12 + d.month - 1 if level == "month" else d.year


def _start(level: str, i: int) -> int:
    if level == "raw":
        return i
    if level == "hour":
        return i * 3600
    if level == "day":
        return i * _DAY
    if level == "month":
        return int(datetime(i // 12, i % 12 + 1, 1, tzinfo=UTC).timestamp())
    return int(datetime(i, 1, 1, tzinfo=UTC).timestamp())


def _nearest(level: str, t: int) -> int:
    f = _floor(level, t)
    return f if t - _start(level, f) <= _start(level, f + 1) - t else f + 1


Piece = tuple[int, str, int, int]
"""(sign, level, first, end): the plays of buckets [first, end) of a level, added (1) or taken away (-1)."""


def decompose(lo: int, hi: int, levels: tuple[str, ...]) -> list[Piece]:
    """[lo, hi) in unix seconds as a signed sum of roll-up buckets, the coarsest last. Each bound moves to the nearest
    bound of the next coarser level while the range still holds a bucket of it; the difference (a few hours or days,
    at most half a bucket) is added or taken away at the finer level. A local year is one UTC year bucket, plus the
    plays of the hour before it and less those of the hour before it ends."""
    out: list[Piece] = []
    pa, pb, cur = lo, hi, levels[0]

    def edge(x: int, y: int) -> None:
        if x < y:
            out.append((1, cur, _floor(cur, x), _floor(cur, y)))
        elif y < x:
            out.append((-1, cur, _floor(cur, y), _floor(cur, x)))

    for level in levels[1:]:
        a, b = _nearest(level, pa), _nearest(level, pb)
        if a >= b:
            break
        sa, sb = _start(level, a), _start(level, b)
        edge(pa, sa)
        edge(sb, pb)
        pa, pb, cur = sa, sb, level
    if pb > pa:
        out.append((1, cur, _floor(cur, pa), _floor(cur, pb)))
    return out


@dataclass(frozen=True)
class Dim:
    """One kind of key of the top lists: its columns in the roll-ups, its expressions over a raw play `h`."""

    keys: tuple[str, ...]
    raw: tuple[str, ...]
    tables: dict[str, str]
    """level -> roll-up table (its bucket column is named like the level)"""
    show: tuple[str, ...] = ()
    """display columns beside the key (a track's artist and title as last played)"""
    raw_from: str = "history_plays h"
    raw_where: str = ""
    ms: bool = True

    @property
    def levels(self) -> tuple[str, ...]:
        return ("raw", *(lv for lv in _LEVELS if lv in self.tables))


def _day_month_year(name: str) -> dict[str, str]:
    return {"day": f"insight_{name}_days", "month": f"insight_{name}_months", "year": f"insight_{name}_years"}


ARTISTS = Dim(("artist",), ("h.artist",), _day_month_year("artist"))
TRACKS = Dim(("track_key",), ("h.track_key",), _day_month_year("track"), show=("artist", "title"))
ALBUMS = Dim(("artist", "album"), ("h.artist", "h.album"), _day_month_year("album"), raw_where=" AND h.album != ''")
SOURCES = Dim(
    ("sources", "client"),
    ("h.sources", "COALESCE(h.client, '')"),
    {"day": "insight_source_days", "month": "insight_source_months"},
    ms=False,
)
GENRES = Dim(
    ("genre",),
    ("g.genre",),
    {"month": "insight_genre_months", "year": "insight_genre_years"},
    raw_from="history_plays h JOIN history_genres g ON g.recording_mbid = h.recording_mbid",
)


def _piece_sql(d: Dim, piece: Piece) -> tuple[str, list[Any]]:
    sign, level, a, b = piece
    if level == "raw":
        show = [f"h.{c}" for c in d.show]
        ms = f"{sign} * COALESCE(h.duration_ms, 0)" if d.ms else "0"
        cols = ", ".join([*d.raw, *show, str(sign), ms])
        where = f"h.user = ? AND h.played_ts >= ? AND h.played_ts < ?{d.raw_where}"
        return f"SELECT {cols} FROM {d.raw_from} WHERE {where}", [a, b]
    ms = f"{sign} * ms" if d.ms else "0"
    cols = ", ".join([*d.keys, *d.show, f"{sign} * plays", ms])
    return f"SELECT {cols} FROM {d.tables[level]} WHERE user = ? AND {level} >= ? AND {level} < ?", [a, b]


def _grouped(
    conn: sqlite3.Connection, user: str, d: Dim, pieces: list[Piece], *, corrections: bool = False
) -> list[tuple[Any, ...]]:
    """(keys..., shown..., plays, ms) of the signed sum of `pieces`: every key with plays (or, for `corrections`,
    every key whose count the pieces change)."""
    if not pieces:
        return []
    parts, args = [], []
    for piece in pieces:
        sql, more = _piece_sql(d, piece)
        parts.append(sql)
        args += [user, *more]
    names = [f"k{i}" for i in range(len(d.keys))]
    shown = [f"s{i}" for i in range(len(d.show))]
    having = "SUM(p) != 0 OR SUM(m) != 0" if corrections else "SUM(p) > 0"
    sql = (
        f"WITH u({', '.join([*names, *shown])}, p, m) AS ({' UNION ALL '.join(parts)}) "
        f"SELECT {', '.join([*names, *(f'MAX({s})' for s in shown)])}, SUM(p), SUM(m) FROM u "
        f"GROUP BY {', '.join(names)} HAVING {having}"
    )
    return conn.execute(sql, args).fetchall()


def _top(conn: sqlite3.Connection, user: str, d: Dim, pieces: list[Piece]) -> list[tuple[Any, ...]]:
    """The TOP keys of a range and their exact counts, without reading every key of a month or a year.

    The coarsest piece (its month or year buckets) is read best first through the roll-up's index on plays, K rows
    per bucket; every key seen there or in the small pieces around it is then counted exactly. A key never seen has
    at most the sum of each bucket's K-th count (the threshold): once TOP counted keys are above it, the list is
    exact; otherwise K grows. A month or a year with a few edge hours reads a few dozen rows."""
    main = pieces[-1] if pieces else None
    if main is None or main[0] != 1 or main[1] not in ("month", "year"):
        return _ranked(_grouped(conn, user, d, pieces))
    _sign, level, b0, b1 = main
    table = d.tables[level]
    nk, ns = len(d.keys), len(d.show)
    small = {r[:nk]: r for r in _grouped(conn, user, d, pieces[:-1], corrections=True)}
    cols = ", ".join(d.keys)
    best_sql = f"SELECT {cols}, plays FROM {table} WHERE user = ? AND {level} = ? ORDER BY plays DESC LIMIT ?"
    cte, _ = _rows(", ".join(f"k{i}" for i in range(nk)), [], nk)
    match = " AND ".join(f"t.{k} = c.k{i}" for i, k in enumerate(d.keys))
    exact_sql = (
        f"WITH c{cte}, bk(v) AS (SELECT value FROM json_each(?)) "
        f"SELECT {', '.join(f'c.k{i}' for i in range(nk))}{''.join(f', MAX(t.{s})' for s in d.show)}, "
        f"SUM(t.plays), SUM(t.ms) FROM c CROSS JOIN bk CROSS JOIN {table} t "
        f"WHERE t.user = ? AND t.{level} = bk.v AND {match} GROUP BY {', '.join(f'c.k{i}' for i in range(nk))}"
    )
    buckets = json.dumps(list(range(b0, b1)))
    k = TOP * 4
    while True:
        seen: set[tuple[Any, ...]] = set(small)
        threshold = 0
        for b in range(b0, b1):
            rows = conn.execute(best_sql, (user, b, k)).fetchall()
            seen.update(r[:nk] for r in rows)
            if len(rows) == k:
                threshold += rows[-1][-1]
        counted: dict[tuple[Any, ...], list[Any]] = {}
        if seen:
            param = json.dumps([list(key) for key in seen])
            for r in conn.execute(exact_sql, (param, buckets, user)).fetchall():
                counted[r[:nk]] = list(r)
        for key, r in small.items():
            acc = counted.setdefault(key, [*key, *r[nk : nk + ns], 0, 0])
            acc[-2] += r[-2]
            acc[-1] += r[-1]
        ranked = _ranked([tuple(r) for r in counted.values() if r[-2] > 0])
        if threshold == 0 or (len(ranked) >= TOP and ranked[TOP - 1][-2] > threshold):
            return ranked
        k *= 4


def _rows(columns: str, values: list[Any], width: int) -> tuple[str, str]:
    """A CTE of `width`-wide rows passed as one JSON parameter: one statement text, prepared once, whatever the
    number of rows (a VALUES list would be compiled anew for every length). Materialized: read as a subquery, each
    json_extract would run again for every roll-up row joined to it."""
    names = columns.split(", ")
    picks = ", ".join(f"json_extract(value, '$[{k}]')" for k in range(width))
    rows = [values[n : n + width] for n in range(0, len(values), width)]
    return f"({', '.join(names)}) AS MATERIALIZED (SELECT {picks} FROM json_each(?))", json.dumps(rows)


def _ranked(rows: list[tuple[Any, ...]], n: int = TOP) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda r: (-r[-2], -r[-1], *map(str, r[:-2])))[:n]
