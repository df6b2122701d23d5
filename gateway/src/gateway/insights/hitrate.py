"""The pipeline's hit rate: of the tracks BrainStream brought into the library in a range, how many the person then
played, at least once and three times or more, within 7 and within 30 days of the import; by where the track came
from (CF recommendations, LB Radio, a manual request).

What was acquired, from which source and when, is the gateway's read model (`view_tracks` and the `imported` step
of `view_timeline`); the plays are the history store's, matched by recording MBID.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

__all__ = ["SOURCES", "Acquired", "acquired", "ensure_index", "hit_rate"]

SOURCES = {"cf": "CF", "radio": "LB Radio", "manual": "manual request"}
_WINDOWS = (7, 30)


@dataclass(frozen=True)
class Acquired:
    recording_mbid: str
    origin: str
    imported_ts: float


def ensure_index(engine: Engine) -> None:
    """Imports by time: the hit rate reads the `imported` steps of a range without walking every journey."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_view_timeline_stage_at ON view_timeline (stage, at)")


def _stored(ts: float) -> str:
    """A UTC instant as SQLAlchemy stores DateTime in SQLite (naive, microseconds), so text order is time order."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def acquired(engine: Engine, user: str, lo: float, hi: float) -> list[Acquired]:
    """Tracks of this user (or of no one in particular) imported in [lo, hi), each once (its first import)."""
    # the instant as unix seconds, counted in SQL: whole seconds from the text, and its fraction ('.ffffff') exactly
    first = "MIN(tl.at)"
    sql = (
        f"SELECT t.recording_mbid, t.origin, CAST(strftime('%s', {first}) AS INTEGER) + "
        f"COALESCE(CAST(NULLIF(substr({first}, 20), '') AS REAL), 0) FROM view_timeline tl "
        "JOIN view_tracks t ON t.id = tl.track_id "
        "WHERE tl.stage = 'imported' AND tl.at >= ? AND tl.at < ? AND t.recording_mbid IS NOT NULL "
        "AND (t.user IS NULL OR t.user = ?) GROUP BY t.id"
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(sql, (_stored(lo), _stored(hi), user)).fetchall()
    return [Acquired(str(mbid), origin or "manual", float(ts)) for mbid, origin, ts in rows]


def hit_rate(conn: sqlite3.Connection, user: str, tracks: list[Acquired], now: datetime) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for origin in (*SOURCES, *sorted({t.origin for t in tracks} - set(SOURCES))):
        rows[origin] = {"source": origin, "label": SOURCES.get(origin, origin), "acquired": 0}
        for days in _WINDOWS:
            rows[origin] |= {f"played_{days}d": 0, f"played3_{days}d": 0, f"open_{days}d": 0}
    counts = _counts(conn, user, tracks)
    for i, t in enumerate(tracks):
        row = rows[t.origin]
        row["acquired"] += 1
        for days in _WINDOWS:
            n = counts.get((i, days), 0)
            row[f"played_{days}d"] += n >= 1
            row[f"played3_{days}d"] += n >= 3
            # the window has not closed yet: the count can still grow
            row[f"open_{days}d"] += t.imported_ts + days * 86400 > now.timestamp()
    total: dict[str, Any] = {"source": "all", "label": "all sources"}
    for key in next(iter(rows.values())):
        if key not in ("source", "label"):
            total[key] = sum(r[key] for r in rows.values())
    return {"by_source": list(rows.values()), "total": total, "windows_days": list(_WINDOWS)}


def _counts(conn: sqlite3.Connection, user: str, tracks: list[Acquired]) -> dict[tuple[int, int], int]:
    """Plays of each track within 7 and 30 days of its import, in one statement (the tracks go in as one JSON
    parameter, so the statement is the same, and prepared once, whatever their number)."""
    out: dict[tuple[int, int], int] = {}
    if not tracks:
        return out
    sql = (
        "WITH a(i, mbid, ts) AS MATERIALIZED (SELECT CAST(key AS INTEGER), json_extract(value, '$[0]'), "
        "json_extract(value, '$[1]') FROM json_each(?)) "
        "SELECT a.i, SUM(h.played_ts < a.ts + 7 * 86400), COUNT(*) FROM a CROSS JOIN history_plays h "
        "INDEXED BY ix_history_plays_recording_time "
        "WHERE h.user = ? AND h.recording_mbid = a.mbid "
        "AND h.played_ts >= a.ts AND h.played_ts < a.ts + 30 * 86400 "
        "GROUP BY a.i"
    )
    args = json.dumps([[t.recording_mbid, t.imported_ts] for t in tracks])
    for i, week, month in conn.execute(sql, (args, user)):
        out[(i, 7)], out[(i, 30)] = week, month
    return out
