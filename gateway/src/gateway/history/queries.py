"""Reads of the history store, always scoped to what the asking person may see."""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..readmodel.queries import Scope

__all__ = ["BadCursor", "ListenFilter", "PlayOut", "plays", "unmatched"]


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class ListenFilter:
    start: datetime | None = None
    end: datetime | None = None
    source: str | None = None
    q: str | None = None
    user: str | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass
class PlayOut:
    play_id: str
    user: str
    played_at: str
    artist: str
    title: str
    album: str | None
    duration_ms: int | None
    recording_mbid: str | None
    match_method: str | None
    match_state: str
    unmatched_reason: str | None
    match_attempts: int
    isrc: str | None
    client: str | None
    sources: list[dict[str, Any]] = field(default_factory=list)
    library_track_id: str | None = None


_COLS = (
    "play_id, user, played_at, artist, title, album, duration_ms, recording_mbid, match_method, match_state, "
    "unmatched_reason, match_attempts, isrc, client, played_ts"
)


def encode_cursor(played_ts: float, play_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([played_ts, play_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        ts, play_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return float(ts), str(play_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("cursor is not one this API gave out") from exc


def _where(scope: Scope, f: ListenFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    user = f.user if scope.is_admin else scope.username
    if user:
        where.append("user = ?")
        args.append(user)
    if f.start:
        where.append("played_ts >= ?")
        args.append(f.start.timestamp())
    if f.end:
        where.append("played_ts < ?")
        args.append(f.end.timestamp())
    if f.source:
        # on the play's own list: the page walks the (user, time) index newest first and stops at the limit
        where.append("(',' || sources || ',') LIKE ?")
        args.append(f"%,{f.source},%")
    if f.q:
        where.append("(artist LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' OR album LIKE ? ESCAPE '\\')")
        like = "%" + f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        args += [like, like, like]
    return where, args


def plays(conn: sqlite3.Connection, scope: Scope, f: ListenFilter) -> tuple[list[PlayOut], str | None]:
    """A page of plays, newest first, and the cursor of the next page (None at the end)."""
    where, args = _where(scope, f)
    if f.cursor:
        ts, play_id = _decode_cursor(f.cursor)
        where.append("(played_ts < ? OR (played_ts = ? AND play_id < ?))")
        args += [ts, ts, play_id]
    sql = f"SELECT {_COLS} FROM history_plays"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY played_ts DESC, play_id DESC LIMIT ?"
    rows = conn.execute(sql, [*args, f.limit + 1]).fetchall()
    more = len(rows) > f.limit
    rows = rows[: f.limit]
    out = [PlayOut(*r[:-1]) for r in rows]
    _attach_sources(conn, out)
    next_cursor = encode_cursor(rows[-1][-1], rows[-1][0]) if more and rows else None
    return out, next_cursor


def unmatched(conn: sqlite3.Connection, scope: Scope, user: str | None, limit: int) -> list[PlayOut]:
    where, args = _where(scope, ListenFilter(user=user))
    where.append("match_state = 'unmatched'")
    rows = conn.execute(
        f"SELECT {_COLS} FROM history_plays WHERE {' AND '.join(where)} ORDER BY played_ts DESC LIMIT ?",
        [*args, limit],
    ).fetchall()
    out = [PlayOut(*r[:-1]) for r in rows]
    _attach_sources(conn, out)
    return out


def _attach_sources(conn: sqlite3.Connection, out: list[PlayOut]) -> None:
    if not out:
        return
    by_id = {p.play_id: p for p in out}
    marks = ",".join("?" * len(by_id))
    for play_id, source, played_at, source_ids, client, mbid in conn.execute(
        "SELECT play_id, source, played_at, source_ids, client, recording_mbid FROM history_sightings "
        f"WHERE play_id IN ({marks}) ORDER BY start, source",
        list(by_id),
    ):
        by_id[play_id].sources.append(
            {
                "source": source,
                "played_at": played_at,
                "ids": json.loads(source_ids),
                "client": client,
                "recording_mbid": mbid,
            }
        )
