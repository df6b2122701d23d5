"""The roll-ups (rollup.py) in a store: made, filled from the plays and given their triggers when a store is opened
(`install`), counted again from every play (`rebuild`), replaced by a replay's in one transaction (`install_built`),
and a reader's connection tuned to read them (`tune_reader`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from .rollup import _FINE, _RECORDINGS, _TABLES, COARSE, ROLLUP_TABLES, TRIGGERS, _coarse_create, _coarse_fill

__all__ = ["install", "install_built", "rebuild", "tune_reader"]

_BACKFILL = (
    "INSERT INTO insight_recording_days SELECT user, CAST(played_ts / 86400 AS INTEGER), recording_mbid, COUNT(*), "
    "SUM(COALESCE(duration_ms, 0)) FROM history_plays WHERE recording_mbid IS NOT NULL GROUP BY 1, 2, 3",
    "INSERT INTO insight_recordings SELECT user, recording_mbid, COUNT(*), SUM(COALESCE(duration_ms, 0)) "
    "FROM history_plays WHERE recording_mbid IS NOT NULL GROUP BY 1, 2",
)
_ARTISTS_FILL = (
    "INSERT INTO insight_artists (user, artist, plays, ms, first_ts) SELECT user, artist, COUNT(*), "
    "SUM(COALESCE(duration_ms, 0)), MIN(played_ts) FROM history_plays GROUP BY 1, 2"
)


def rebuild(conn: sqlite3.Connection) -> None:
    """Every roll-up counted again from the plays, in one transaction: for a store whose plays were written with the
    triggers off (a bulk load), and a check that the triggers kept them right (they should change nothing)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in ROLLUP_TABLES:
            conn.execute(f"DELETE FROM {table}")
        for c in (*_FINE, *COARSE):
            conn.execute(_coarse_fill(c))
        conn.execute(_ARTISTS_FILL)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _missing(conn: sqlite3.Connection) -> set[str]:
    wanted = ["insight_recordings", *(c.table for c in COARSE)]
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return set(wanted) - have


def install(conn: sqlite3.Connection) -> None:
    """Create the roll-ups and their triggers (idempotent). `INSERT OR REPLACE` of a play removes the old row
    first: with recursive triggers on, that removal fires `insight_play_removed` like a DELETE does."""
    conn.execute("PRAGMA recursive_triggers = ON")
    conn.executescript(_TABLES)
    stale = [
        name
        for name, body in TRIGGERS.items()
        if body not in (conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone() or ("",))[0]
    ]
    if not stale and not _missing(conn):
        return
    # a store from before the recording or the coarser roll-ups (or a new one): make them, fill them from the plays
    # and renew the triggers in one transaction, so no play is counted twice or missed
    conn.execute("BEGIN IMMEDIATE")
    try:
        missing = _missing(conn)
        for name in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        if "insight_recordings" in missing:
            for sql in (*_RECORDINGS, *_BACKFILL):
                conn.execute(sql)
        for c in COARSE:
            if c.table in missing:
                for sql in _coarse_create(c):
                    conn.execute(sql)
                conn.execute(_coarse_fill(c))
        for name, body in TRIGGERS.items():
            conn.execute(f"CREATE TRIGGER {name} {body}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def tune_reader(conn: sqlite3.Connection, cache_mb: int = 64, mmap_mb: int = 512) -> None:
    """A reader's page cache and memory map: insights read scattered pages of the roll-ups and the plays' indexes,
    and SQLite's default 2 MB cache would read them from the file again on every request."""
    conn.execute(f"PRAGMA cache_size = -{cache_mb * 1024}")
    conn.execute(f"PRAGMA mmap_size = {mmap_mb * 1024 * 1024}")


def install_built(built: Path, live: Path, tables: Sequence[str]) -> None:
    """Replace `tables` of the live store by a replay's, in one transaction (a reader sees the old or the new
    store). The triggers are dropped and made again inside it: the built roll-ups are copied as they are rather
    than counted again play by play, and no play the live fold commits before or after can miss them."""
    conn = sqlite3.connect(live, timeout=30, isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS built", (str(built),))
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name in TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS main.{name}")
            for table in tables:
                cols = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA built.table_info("{table}")'))
                conn.execute(f'DELETE FROM main."{table}"')
                conn.execute(f'INSERT INTO main."{table}" ({cols}) SELECT {cols} FROM built."{table}"')
            for name, body in TRIGGERS.items():
                conn.execute(f"CREATE TRIGGER main.{name} {body}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE built")
    finally:
        conn.close()
