"""Insights of one user over one range, read from the roll-ups (rollup.py) and the raw plays at the range's edges.

Top lists read whole UTC days from the daily roll-ups and the plays of the partial days at each edge from
`history_plays` (indexed by user and time), so a range that starts at a local midnight is exact to the second.
Trends, totals and the listening clock read the hourly roll-up, turned into local time period by period of the
zone's UTC offset; in a zone whose offset is not a whole number of hours they read the raw plays instead.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from .ranges import Range, buckets, midnight, offset_periods

__all__ = ["TOP", "Window", "compute"]

TOP = 10
_DAY = 86400


@dataclass(frozen=True)
class Window:
    user: str
    lo: int
    hi: int

    def day_split(self) -> tuple[int, int, list[tuple[int, int]]]:
        """Whole UTC days [d0, d1) and the raw second ranges around them."""
        d0, d1 = -(-self.lo // _DAY), self.hi // _DAY
        if d0 >= d1:
            return 0, 0, [(self.lo, self.hi)]
        return d0, d1, [(self.lo, d0 * _DAY), (d1 * _DAY, self.hi)]


def _grouped(
    conn: sqlite3.Connection, w: Window, day_table: str, keys: str, raw_keys: str, raw_where: str = ""
) -> list[tuple[Any, ...]]:
    """(keys..., plays, ms) of a range: whole days from `day_table`, the edges from the raw plays."""
    d0, d1, edges = w.day_split()
    parts, args = [], []
    if d1 > d0:
        parts.append(f"SELECT {keys}, plays, ms FROM {day_table} WHERE user = ? AND day >= ? AND day < ?")
        args += [w.user, d0, d1]
    for lo, hi in edges:
        if hi > lo:
            parts.append(
                f"SELECT {raw_keys}, 1, COALESCE(duration_ms, 0) FROM history_plays "
                f"WHERE user = ? AND played_ts >= ? AND played_ts < ?{raw_where}"
            )
            args += [w.user, lo, hi]
    if not parts:
        return []
    cols = ", ".join(f"k{i}" for i in range(len(keys.split(","))))
    inner = " UNION ALL ".join(parts)
    sql = f"WITH u({cols}, p, m) AS ({inner}) SELECT {cols}, SUM(p), SUM(m) FROM u GROUP BY {cols}"
    return conn.execute(sql, args).fetchall()


def _rows(columns: str, values: list[Any], width: int) -> tuple[str, str]:
    """A CTE of `width`-wide rows passed as one JSON parameter: one statement text, prepared once, whatever the
    number of rows (a VALUES list would be compiled anew for every length)."""
    names = columns.split(", ")
    picks = ", ".join(f"json_extract(value, '$[{k}]')" for k in range(width))
    rows = [values[n : n + width] for n in range(0, len(values), width)]
    return f"({', '.join(names)}) AS (SELECT {picks} FROM json_each(?))", json.dumps(rows)


def _ranked(rows: list[tuple[Any, ...]], n: int = TOP) -> list[tuple[Any, ...]]:
    return sorted(rows, key=lambda r: (-r[-2], -r[-1], *map(str, r[:-2])))[:n]


def _hours_ok(w: Window, periods: list[tuple[int, int, int]]) -> bool:
    return w.lo % 3600 == 0 and w.hi % 3600 == 0 and all(p[2] % 3600 == 0 for p in periods)


def _series(conn: sqlite3.Connection, user: str, edges: list[int], by_hour: bool) -> list[tuple[int, int]]:
    """(plays, ms) between consecutive instants of `edges`: the whole UTC days inside each bucket from the daily
    roll-up, the hours of its partial days at either end from the hourly one (or the raw plays)."""
    if len(edges) < 2:
        return []
    days: list[Any] = []
    parts: list[Any] = []
    for i, (lo, hi) in enumerate(pairwise(edges)):
        d0, d1 = -(-lo // _DAY), hi // _DAY
        if d1 > d0:
            days += [i, d0, d1]
            parts += [i, lo, d0 * _DAY, i, d1 * _DAY, hi]
        else:
            parts += [i, lo, hi]
    if by_hour:
        table, col, unit, plays, ms = "insight_hours", "hour", 3600, "h.plays", "h.ms"
    else:
        table, col, unit, plays, ms = "history_plays", "played_ts", 1, "1", "COALESCE(h.duration_ms, 0)"
    got: dict[int, list[int]] = {}
    for n in range(0, len(parts), 3):
        parts[n + 1] //= unit
        parts[n + 2] //= unit
    queries = [(table, col, plays, ms, parts)]
    if days:
        queries.append(("insight_days", "day", "h.plays", "h.ms", days))
    for tbl, c, p, m, args in queries:
        cte, param = _rows("i, lo, hi", args, 3)
        sql = (
            f"WITH b{cte} "
            f"SELECT b.i, SUM({p}), SUM({m}) FROM b CROSS JOIN {tbl} h WHERE h.user = ? AND h.{c} >= b.lo "
            f"AND h.{c} < b.hi GROUP BY b.i"
        )
        for i, pl, mm in conn.execute(sql, [param, user]).fetchall():
            acc = got.setdefault(i, [0, 0])
            acc[0] += pl
            acc[1] += mm
    return [(got[i][0], got[i][1]) if i in got else (0, 0) for i in range(len(edges) - 1)]


_BLOCK = 672  # hours in a block of insight_clock: four weeks


def _clock(conn: sqlite3.Connection, w: Window, periods: list[tuple[int, int, int]], by_hour: bool) -> list[list[int]]:
    """plays[weekday Monday=0][local hour]. Each period of one UTC offset reads its whole four-week blocks from
    `insight_clock` and the hours around them from `insight_hours`; the offset turns a UTC hour of the week into a
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
    blocks: list[Any] = []
    hours: list[Any] = []
    for lo, hi, off in periods:
        lo_h, hi_h, off_h = lo // 3600, hi // 3600, off // 3600 + 168
        b0, b1 = -(-lo_h // _BLOCK), hi_h // _BLOCK
        if b1 > b0:
            blocks += [b0, b1, off_h]
            hours += [lo_h, b0 * _BLOCK, off_h, b1 * _BLOCK, hi_h, off_h]
        else:
            hours += [lo_h, hi_h, off_h]
    how: Counter[int] = Counter()
    for table, col, key, args in (
        ("insight_clock", "block", "h.how", blocks),
        ("insight_hours", "hour", "h.hour % 168", hours),
    ):
        if not args:
            continue
        cte, param = _rows("lo, hi, off", args, 3)
        sql = (
            f"WITH p{cte} SELECT ({key} + p.off) % 168 AS t, SUM(h.plays) FROM p CROSS JOIN {table} h "
            f"WHERE h.user = ? AND h.{col} >= p.lo AND h.{col} < p.hi GROUP BY t"
        )
        for t, n in conn.execute(sql, [param, w.user]).fetchall():
            how[t] += n
    for t, n in how.items():
        grid[(3 + t // 24) % 7][t % 24] += n  # hour 0 of the epoch's week is a Thursday
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
    else:
        artists = _grouped(conn, w, "insight_artist_days", "artist", "artist")
        tracks = _grouped(conn, w, "insight_track_days", "track_key, artist, title", "track_key, artist, title")
        tracks = _merge_tracks(tracks)
        albums = _grouped(conn, w, "insight_album_days", "artist, album", "artist, album", " AND album != ''")
    sources_rows = (
        conn.execute("SELECT sources, client, plays FROM insight_sources WHERE user = ?", (user,)).fetchall()
        if everything
        else _source_rows(conn, w)
    )

    genres = _genres(conn, w, everything)
    plays = sum(r[-2] for r in artists)
    ms = sum(r[-1] for r in artists)
    trend = _trend(conn, user, rng, unit, by_hour)
    clock = _clock(conn, w, periods, by_hour)
    discovery = _discovery(conn, w, periods, {r[0]: r[1] for r in artists}, plays)

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


def _merge_tracks(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One row per track key (its display text can differ between days)."""
    merged: dict[str, list[Any]] = {}
    for key, artist, title, p, m in rows:
        if key in merged:
            merged[key][3] += p
            merged[key][4] += m
        else:
            merged[key] = [key, artist, title, p, m]
    return [tuple(v) for v in merged.values()]


def _genres(conn: sqlite3.Connection, w: Window, everything: bool) -> list[tuple[Any, ...]]:
    """(genre, plays, ms): the range's plays per recording (the recording roll-ups, the raw plays at the edges),
    joined to the library's genres of each recording (`history_genres`). A play of a recording with two genres
    counts for both; plays without a recording MBID, or of recordings the library has no genre for, count for none."""
    if everything:
        return conn.execute(
            "SELECT g.genre, SUM(r.plays), SUM(r.ms) FROM insight_recordings r "
            "JOIN history_genres g ON g.recording_mbid = r.recording_mbid WHERE r.user = ? GROUP BY g.genre",
            (w.user,),
        ).fetchall()
    per = _grouped(
        conn, w, "insight_recording_days", "recording_mbid", "recording_mbid", " AND recording_mbid IS NOT NULL"
    )
    if not per:
        return []
    cte, param = _rows("mbid, plays, ms", [x for r in per for x in r], 3)
    return conn.execute(
        f"WITH r{cte} SELECT g.genre, SUM(r.plays), SUM(r.ms) FROM r "
        "JOIN history_genres g ON g.recording_mbid = r.mbid GROUP BY g.genre",
        [param],
    ).fetchall()


def _source_rows(conn: sqlite3.Connection, w: Window) -> list[tuple[str, str, int]]:
    d0, d1, edges = w.day_split()
    out: Counter[tuple[str, str]] = Counter()
    if d1 > d0:
        for s, c, n in conn.execute(
            "SELECT sources, client, SUM(plays) FROM insight_source_days WHERE user = ? AND day >= ? AND day < ? "
            "GROUP BY sources, client",
            (w.user, d0, d1),
        ):
            out[(s, c)] += n
    for lo, hi in edges:
        for s, c, n in conn.execute(
            "SELECT sources, COALESCE(client, ''), COUNT(*) FROM history_plays WHERE user = ? AND played_ts >= ? "
            "AND played_ts < ? GROUP BY 1, 2",
            (w.user, lo, hi),
        ):
            out[(s, c)] += n
    return [(s, c, n) for (s, c), n in out.items()]


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


def _discovery(
    conn: sqlite3.Connection,
    w: Window,
    periods: list[tuple[int, int, int]],
    plays_by_artist: dict[str, int],
    plays: int,
) -> dict[str, Any]:
    """Artists whose first play ever falls in the range, the share of the range's plays that went to them, and how
    many were first heard in each local month of the range."""
    cte, param = _rows("lo, hi, off", [x for p in periods for x in p], 3)
    rows = conn.execute(
        f"WITH p{cte} "
        "SELECT a.artist, strftime('%Y-%m', CAST(a.first_ts AS INTEGER) + p.off, 'unixepoch') FROM p "
        "CROSS JOIN insight_artists a WHERE a.user = ? AND a.first_ts >= p.lo AND a.first_ts < p.hi",
        [param, w.user],
    ).fetchall()
    months = Counter(m for _, m in rows)
    new_plays = sum(plays_by_artist.get(a, 0) for a, _ in rows)
    return {
        "new_artists": len(rows),
        "new_artist_plays": new_plays,
        "new_artist_share": round(new_plays / plays, 4) if plays else 0.0,
        "new_artists_per_month": [{"month": m, "new_artists": n} for m, n in sorted(months.items())],
    }
