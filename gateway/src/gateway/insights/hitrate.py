"""The pipeline's hit rate: of the tracks BrainStream brought into the library in a range, how many the person then
played, at least once and three times or more, within 7 and within 30 days of the import; by where the track came
from (CF recommendations, LB Radio, a manual request).

What was acquired, from which source and when, is the gateway's read model (`view_tracks` and the `imported` step
of `view_timeline`); the plays are the history store's, matched by recording MBID.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, or_
from sqlmodel import Session, col, select

from ..readmodel.rows import TimelineRow, TrackRow

__all__ = ["SOURCES", "Acquired", "acquired", "hit_rate"]

SOURCES = {"cf": "CF", "radio": "LB Radio", "manual": "manual request"}
_WINDOWS = (7, 30)


@dataclass(frozen=True)
class Acquired:
    recording_mbid: str
    origin: str
    imported_ts: float


def acquired(engine: Engine, user: str, lo: float, hi: float) -> list[Acquired]:
    """Tracks of this user (or of no one in particular) first imported in [lo, hi)."""
    first = func.min(TimelineRow.at)
    stmt = (
        select(TrackRow.recording_mbid, TrackRow.origin, first)
        .join(TimelineRow, col(TimelineRow.track_id) == col(TrackRow.id))
        .where(TimelineRow.stage == "imported", col(TrackRow.recording_mbid).is_not(None))
        .where(or_(col(TrackRow.user).is_(None), col(TrackRow.user) == user))
        .group_by(col(TrackRow.id))
    )
    out = []
    with Session(engine) as s:
        for mbid, origin, at in s.exec(stmt).all():
            ts = (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()
            if lo <= ts < hi and mbid:
                out.append(Acquired(mbid, origin or "manual", ts))
    return out


def hit_rate(conn: sqlite3.Connection, user: str, tracks: list[Acquired], now: datetime) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for origin in (*SOURCES, *sorted({t.origin for t in tracks} - set(SOURCES))):
        rows[origin] = {"source": origin, "label": SOURCES.get(origin, origin), "acquired": 0}
        for days in _WINDOWS:
            rows[origin] |= {f"played_{days}d": 0, f"played3_{days}d": 0, f"open_{days}d": 0}
    for t in tracks:
        played = [
            r[0]
            for r in conn.execute(
                "SELECT played_ts FROM history_plays WHERE user = ? AND recording_mbid = ? AND played_ts >= ? "
                "AND played_ts < ?",
                (user, t.recording_mbid, t.imported_ts, t.imported_ts + 30 * 86400),
            )
        ]
        row = rows[t.origin]
        row["acquired"] += 1
        for days in _WINDOWS:
            n = sum(1 for p in played if p < t.imported_ts + days * 86400)
            row[f"played_{days}d"] += n >= 1
            row[f"played3_{days}d"] += n >= 3
            # the window has not closed yet: the count can still grow
            row[f"open_{days}d"] += t.imported_ts + days * 86400 > now.timestamp()
    total: dict[str, Any] = {"source": "all", "label": "all sources"}
    for key in next(iter(rows.values())):
        if key not in ("source", "label"):
            total[key] = sum(r[key] for r in rows.values())
    return {"by_source": list(rows.values()), "total": total, "windows_days": list(_WINDOWS)}
