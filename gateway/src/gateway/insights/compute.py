"""Insights of one user over one range, read from the roll-ups (rollup.py) and the raw plays at the range's edges.

Top lists read whole UTC days from the daily roll-ups and the plays of the partial days at each edge from
`history_plays` (indexed by user and time), so a range that starts at a local midnight is exact to the second.
Trends, totals and the listening clock read the hourly roll-up, turned into local time period by period of the
zone's UTC offset; in a zone whose offset is not a whole number of hours they read the raw plays instead.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from .pieces import ALBUMS, ARTISTS, GENRES, SOURCES, TOP, TRACKS, _grouped, _ranked, _rows, _top, decompose
from .ranges import Range, buckets, midnight, offset_periods

__all__ = ["Window", "compute"]


@dataclass(frozen=True)
class Window:
    user: str
    lo: int
    hi: int


def _hours_ok(w: Window, periods: list[tuple[int, int, int]]) -> bool:
    return w.lo % 3600 == 0 and w.hi % 3600 == 0 and all(p[2] % 3600 == 0 for p in periods)


_SERIES_TABLES = {
    "raw": ("history_plays", "played_ts", "1", "COALESCE(h.duration_ms, 0)"),
    "hour": ("insight_hours", "hour", "h.plays", "h.ms"),
    "day": ("insight_days", "day", "h.plays", "h.ms"),
    "month": ("insight_months", "month", "h.plays", "h.ms"),
}


@lru_cache(maxsize=128)
def _series_plan(edges: tuple[int, ...], by_hour: bool) -> list[tuple[str, str, str]]:
    """(level, CTE, its JSON parameter) of each roll-up a trend reads; the same for every user and request with these
    bucket bounds (fifteen years of months are some 900 pieces to work out)."""
    levels = ("hour", "day", "month") if by_hour else ("raw", "day", "month")
    args: dict[str, list[int]] = {}
    for i, (lo, hi) in enumerate(pairwise(edges)):
        for sign, level, a, b in decompose(lo, hi, levels):
            args.setdefault(level, []).extend((i, sign, a, b))
    return [(level, *_rows("i, s, lo, hi", values, 4)) for level, values in args.items()]


def _series(conn: sqlite3.Connection, user: str, edges: list[int], by_hour: bool) -> list[tuple[int, int]]:
    """(plays, ms) between consecutive instants of `edges`: each bucket as whole UTC months, days and hours of the
    roll-ups (or raw plays, without whole-hour offsets), added and taken away (decompose)."""
    if len(edges) < 2:
        return []
    got: dict[int, list[int]] = {}
    for level, cte, param in _series_plan(tuple(edges), by_hour):
        table, col, plays, ms = _SERIES_TABLES[level]
        sql = (
            f"WITH b{cte} "
            f"SELECT b.i, SUM(b.s * {plays}), SUM(b.s * {ms}) FROM b CROSS JOIN {table} h WHERE h.user = ? "
            f"AND h.{col} >= b.lo AND h.{col} < b.hi GROUP BY b.i"
        )
        for i, pl, mm in conn.execute(sql, [param, user]).fetchall():
            acc = got.setdefault(i, [0, 0])
            acc[0] += pl
            acc[1] += mm
    return [(got[i][0], got[i][1]) if i in got else (0, 0) for i in range(len(edges) - 1)]


_BLOCK = 672  # hours in a block of insight_clock: four weeks


def _clock(
    conn: sqlite3.Connection, w: Window, periods: list[tuple[int, int, int]], by_hour: bool, whole: bool = False
) -> list[list[int]]:
    """plays[weekday Monday=0][local hour]. Each period of one UTC offset reads four-week blocks from
    `insight_clock` and the hours at its ends from `insight_hours`; the offset turns a UTC hour of the week into a
    local one. Without whole-hour offsets, the raw plays."""
    grid = [[0] * 24 for _ in range(7)]
    if not by_hour:
        cte, param = _rows("lo, hi, off", [x for p in periods for x in p], 3)
        sql = (
            f"WITH p{cte} SELECT ((CAST(h.played_ts AS INTEGER) + p.off) / 3600) % 24 AS hod, "
            "((CAST(h.played_ts AS INTEGER) + p.off) / 86400 + 3) % 7 AS wd, COUNT(*) FROM p "
            "CROSS JOIN history_plays h WHERE h.user = ? AND h.played_ts >= p.lo AND h.played_ts < p.hi "
            "GROUP BY hod, wd"
        )
        for hod, wd, n in conn.execute(sql, [param, w.user]).fetchall():
            grid[wd][hod] += n
        return grid
    # every play of the user (all time): the all-time clock less the periods of the other offsets gives the
    # periods of the offset that lasts longest, which are not read at all
    by_off: Counter[int] = Counter()
    for lo, hi, off in periods:
        by_off[off] += hi - lo
    rest = max(by_off, key=lambda o: by_off[o]) if whole and len(by_off) > 1 else None
    blocks: list[Any] = []
    hours: list[Any] = []
    for lo, hi, off in periods:
        if off == rest:
            continue
        # whole blocks from the nearest block bounds, the hours between those and the period's own added or taken
        # away: at most half a block at either end
        lo_h, hi_h, off_h = lo // 3600, hi // 3600, off // 3600 + 168
        b0, b1 = (lo_h + _BLOCK // 2) // _BLOCK, (hi_h + _BLOCK // 2) // _BLOCK
        if b1 > b0:
            blocks += [b0, b1, off_h, 1]
            for x, y in ((lo_h, b0 * _BLOCK), (b1 * _BLOCK, hi_h)):
                if x != y:
                    hours += [min(x, y), max(x, y), off_h, 1 if x < y else -1]
        else:
            hours += [lo_h, hi_h, off_h, 1]
    how: Counter[tuple[int, int]] = Counter()  # (offset in hours + 168, UTC hour of the week)
    for table, col, key, args in (
        ("insight_clock", "block", "h.how", blocks),
        ("insight_hours", "hour", "h.hour % 168", hours),
    ):
        if not args:
            continue
        cte, param = _rows("lo, hi, off, s", args, 4)
        sql = (
            f"WITH p{cte} SELECT p.off, {key} AS t, SUM(p.s * h.plays) FROM p CROSS JOIN {table} h "
            f"WHERE h.user = ? AND h.{col} >= p.lo AND h.{col} < p.hi GROUP BY 1, 2"
        )
        for off_h, t, n in conn.execute(sql, [param, w.user]).fetchall():
            how[(off_h, t)] += n
    if rest is not None:
        off_h = rest // 3600 + 168
        read: Counter[int] = Counter()
        for (_o, t), n in how.items():
            read[t] += n
        for t, n in conn.execute("SELECT how, plays FROM insight_clock_all WHERE user = ?", (w.user,)).fetchall():
            how[(off_h, t)] += n - read[t]
    for (off_h, t), n in how.items():
        local = (t + off_h) % 168
        grid[(3 + local // 24) % 7][local % 24] += n  # hour 0 of the epoch's week is a Thursday
    return grid


def play_days(conn: sqlite3.Connection, user: str, tz: ZoneInfo) -> tuple[date | None, date | None]:
    """The local days of the user's first and last play."""
    # two statements: SQLite reads MIN and MAX from the key only one at a time
    lo = conn.execute("SELECT MIN(hour) FROM insight_hours WHERE user = ?", (user,)).fetchone()[0]
    hi = conn.execute("SELECT MAX(hour) FROM insight_hours WHERE user = ?", (user,)).fetchone()[0]
    if lo is None:
        return None, None
    row = (lo, hi)
    first = conn.execute(
        "SELECT MIN(played_ts) FROM history_plays WHERE user = ? AND played_ts >= ?", (user, row[0] * 3600)
    ).fetchone()[0]
    last = conn.execute(
        "SELECT MAX(played_ts) FROM history_plays WHERE user = ? AND played_ts >= ?", (user, row[1] * 3600)
    ).fetchone()[0]
    return tuple(datetime.fromtimestamp(t, UTC).astimezone(tz).date() for t in (first, last))  # type: ignore[return-value]


def compute(conn: sqlite3.Connection, user: str, rng: Range, unit: str | None = None) -> dict[str, Any]:
    tz = rng.tz
    w = Window(user, int(rng.start.timestamp()), int(rng.end.timestamp()))
    periods = offset_periods(w.lo, w.hi, tz)
    by_hour = _hours_ok(w, periods)
    everything = rng.kind == "all"

    if everything:
        artists = conn.execute("SELECT artist, plays, ms FROM insight_artists WHERE user = ?", (user,)).fetchall()
        tracks = conn.execute(
            "SELECT track_key, artist, title, plays, ms FROM insight_tracks WHERE user = ? ORDER BY plays DESC, "
            "ms DESC LIMIT ?",
            (user, TOP * 3),
        ).fetchall()
        albums = conn.execute(
            "SELECT artist, album, plays, ms FROM insight_albums WHERE user = ? ORDER BY plays DESC, ms DESC LIMIT ?",
            (user, TOP * 3),
        ).fetchall()
        sources_rows = conn.execute(
            "SELECT sources, client, plays FROM insight_sources WHERE user = ?", (user,)
        ).fetchall()
        genres = conn.execute("SELECT genre, plays, ms FROM insight_genres WHERE user = ?", (user,)).fetchall()
    else:
        artists = _grouped(conn, user, ARTISTS, decompose(w.lo, w.hi, ARTISTS.levels))
        tracks = _top(conn, user, TRACKS, decompose(w.lo, w.hi, TRACKS.levels))
        albums = _top(conn, user, ALBUMS, decompose(w.lo, w.hi, ALBUMS.levels))
        sources_rows = [r[:3] for r in _grouped(conn, user, SOURCES, decompose(w.lo, w.hi, SOURCES.levels))]
        genres = _grouped(conn, user, GENRES, decompose(w.lo, w.hi, GENRES.levels))

    plays = sum(r[-2] for r in artists)
    ms = sum(r[-1] for r in artists)
    trend = _trend(conn, user, rng, unit, by_hour)
    clock = _clock(conn, w, periods, by_hour, whole=everything)
    discovery = _discovery(conn, w, tz, {r[0]: r[1] for r in artists}, plays, everything)

    def listing(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {**dict(zip(names, r[: len(names)], strict=True)), "plays": r[-2], "listening_ms": r[-1]}
            for r in _ranked(rows)
        ]

    by_source: Counter[str] = Counter()
    by_client: Counter[str] = Counter()
    for sources, client, n in sources_rows:
        for s in sources.split(","):
            by_source[s] += n
        by_client[client or "unknown"] += n
    return {
        "totals": {"plays": plays, "listening_ms": ms, "artists": len(artists)},
        "top_artists": listing(artists, ("artist",)),
        "top_tracks": listing([r[1:] for r in tracks], ("artist", "title")),
        "top_albums": listing(albums, ("artist", "album")),
        "top_genres": listing(genres, ("genre",)),
        "trend": trend,
        "clock": {"weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "plays": clock},
        "sources": [{"source": s, "plays": n} for s, n in sorted(by_source.items(), key=lambda x: (-x[1], x[0]))],
        "clients": [{"client": c, "plays": n} for c, n in sorted(by_client.items(), key=lambda x: (-x[1], x[0]))],
        "discovery": discovery,
        "exact_hours": by_hour,
    }


def _trend(conn: sqlite3.Connection, user: str, rng: Range, unit: str | None, by_hour: bool) -> dict[str, Any]:
    tz = rng.tz
    b = buckets(rng.start_day, rng.end_day, unit)
    edges = [int(midnight(d, tz).timestamp()) for d in b.starts]
    now = _series(conn, user, edges, by_hour)
    out: dict[str, Any] = {
        "unit": b.unit,
        "buckets": [
            {"start": d.isoformat(), "plays": p, "listening_ms": m} for d, (p, m) in zip(b.starts, now, strict=False)
        ],
        "previous": None,
    }
    if rng.prev_start_day and rng.prev_end_day:
        pb = buckets(rng.prev_start_day, rng.prev_end_day, b.unit)
        pedges = [int(midnight(d, tz).timestamp()) for d in pb.starts]
        prev = _series(conn, user, pedges, by_hour and all(e % 3600 == 0 for e in pedges))
        plays, ms = sum(p for p, _ in prev), sum(m for _, m in prev)
        cur_plays = sum(p for p, _ in now)
        out["previous"] = {
            "start": midnight(rng.prev_start_day, tz).isoformat(),
            "end": midnight(rng.prev_end_day, tz).isoformat(),
            "plays": plays,
            "listening_ms": ms,
            "change_pct": round((cur_plays - plays) * 100 / plays) if plays else None,
            "buckets": [
                {"start": d.isoformat(), "plays": p, "listening_ms": m}
                for d, (p, m) in zip(pb.starts, prev, strict=False)
            ],
        }
    return out


@lru_cache(maxsize=128)
def _month_plan(lo: int, hi: int, tz: ZoneInfo) -> tuple[str, str]:
    """The local months of [lo, hi) as (label, from, to) rows: a CTE and its JSON parameter."""
    first = datetime.fromtimestamp(lo, UTC).astimezone(tz).date().replace(day=1)
    labels, starts = [], []
    month = first
    while (at := int(midnight(month, tz).timestamp())) < hi:
        labels.append(month.strftime("%Y-%m"))
        starts.append(max(at, lo))
        month = (month + timedelta(days=32)).replace(day=1)
    ends = [*starts[1:], hi]
    return _rows("m, lo, hi", [x for row in zip(labels, starts, ends, strict=True) for x in row], 3)


def _discovery(
    conn: sqlite3.Connection, w: Window, tz: ZoneInfo, plays_by_artist: dict[str, int], plays: int, everything: bool
) -> dict[str, Any]:
    """Artists whose first play ever falls in the range, the share of the range's plays that went to them, and how
    many were first heard in each local month of the range (counted in SQL over the first plays' index)."""
    cte, param = _month_plan(w.lo, w.hi, tz)
    per_month = conn.execute(
        f"WITH p{cte} SELECT p.m, COUNT(*) FROM p CROSS JOIN insight_artists a "
        "WHERE a.user = ? AND a.first_ts >= p.lo AND a.first_ts < p.hi GROUP BY p.m ORDER BY p.m",
        [param, w.user],
    ).fetchall()
    count = sum(n for _m, n in per_month)
    if everything:
        new_plays = plays  # every artist of all time was new once
    else:
        rows = conn.execute(
            "SELECT a.artist FROM insight_artists a WHERE a.user = ? AND a.first_ts >= ? AND a.first_ts < ?",
            (w.user, w.lo, w.hi),
        ).fetchall()
        new_plays = sum(plays_by_artist.get(a, 0) for (a,) in rows)
    return {
        "new_artists": count,
        "new_artist_plays": new_plays,
        "new_artist_share": round(new_plays / plays, 4) if plays else 0.0,
        "new_artists_per_month": [{"month": m, "new_artists": n} for m, n in per_month],
    }
