"""Roll-ups of the listening history, kept in step with `history_plays` by SQLite triggers.

Every insert, replace or delete of a play adds or takes its count and listening time from these tables inside the
statement that changed the play, so they commit in the same transaction as the history rows (the fold's batch, a
replay's build) and can never disagree with them. Buckets are UTC: a whole UTC hour (`hour` = unix seconds / 3600)
or a whole UTC day (`day` = unix seconds / 86400). Insights turn them into the asking user's local days, weeks and
clock hours at read time, and read the few raw plays at the edges of a range that do not fill a whole bucket.

- `insight_hours`, `insight_days`: plays and milliseconds per user and UTC hour / day (trends, the listening clock);
- `insight_clock`: plays per user, block of four weeks (`hour / 672`) and UTC hour of the week (`hour % 168`,
  counted from Thursday 00:00, the epoch's weekday): the listening clock of long ranges;
- `insight_artist_days`, `insight_track_days`, `insight_album_days`, `insight_source_days`: per user, UTC day and
  artist / track / album / (sources, client) (the top lists and sources of a range);
- `insight_artists`, `insight_tracks`, `insight_albums`, `insight_sources`: all-time totals per user, and each
  artist's first play
  (discovery: which artists were first heard in a range);
- `insight_recording_days`, `insight_recordings`: per user (and UTC day) and recording MBID, joined to the library's
  genres (`history_genres`) for the top genres. A store made before they existed gets them filled from its plays
  when it is opened (`install`), in the transaction that makes them and renews the triggers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ROLLUP_TABLES", "TRIGGERS", "install", "install_built", "tune_reader"]

ROLLUP_TABLES = (
    "insight_hours",
    "insight_days",
    "insight_clock",
    "insight_artist_days",
    "insight_track_days",
    "insight_album_days",
    "insight_source_days",
    "insight_artists",
    "insight_tracks",
    "insight_albums",
    "insight_sources",
    "insight_recording_days",
    "insight_recordings",
)

_RECORDINGS = (
    "CREATE TABLE IF NOT EXISTS insight_recording_days (user TEXT NOT NULL, day INTEGER NOT NULL, "
    "recording_mbid TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL, "
    "PRIMARY KEY (user, day, recording_mbid)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS insight_recordings (user TEXT NOT NULL, recording_mbid TEXT NOT NULL, "
    "plays INTEGER NOT NULL, ms INTEGER NOT NULL, PRIMARY KEY (user, recording_mbid)) WITHOUT ROWID",
)
_BACKFILL = (
    "INSERT INTO insight_recording_days SELECT user, CAST(played_ts / 86400 AS INTEGER), recording_mbid, COUNT(*), "
    "SUM(COALESCE(duration_ms, 0)) FROM history_plays WHERE recording_mbid IS NOT NULL GROUP BY 1, 2, 3",
    "INSERT INTO insight_recordings SELECT user, recording_mbid, COUNT(*), SUM(COALESCE(duration_ms, 0)) "
    "FROM history_plays WHERE recording_mbid IS NOT NULL GROUP BY 1, 2",
)

_TABLES = """
CREATE TABLE IF NOT EXISTS insight_hours (
    user TEXT NOT NULL, hour INTEGER NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_clock (
    user TEXT NOT NULL, block INTEGER NOT NULL, how INTEGER NOT NULL, plays INTEGER NOT NULL,
    PRIMARY KEY (user, block, how)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_artist_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, artist TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day, artist)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_track_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, track_key TEXT NOT NULL, artist TEXT NOT NULL, title TEXT NOT NULL,
    plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day, track_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_album_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, artist TEXT NOT NULL, album TEXT NOT NULL,
    plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day, artist, album)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_source_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, sources TEXT NOT NULL, client TEXT NOT NULL, plays INTEGER NOT NULL,
    PRIMARY KEY (user, day, sources, client)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_artists (
    user TEXT NOT NULL, artist TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL, first_ts REAL NOT NULL,
    PRIMARY KEY (user, artist)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_insight_artists_first ON insight_artists (user, first_ts);
CREATE INDEX IF NOT EXISTS ix_insight_artists_plays ON insight_artists (user, plays);
CREATE TABLE IF NOT EXISTS insight_tracks (
    user TEXT NOT NULL, track_key TEXT NOT NULL, artist TEXT NOT NULL, title TEXT NOT NULL,
    plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, track_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_insight_tracks_plays ON insight_tracks (user, plays);
CREATE TABLE IF NOT EXISTS insight_albums (
    user TEXT NOT NULL, artist TEXT NOT NULL, album TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, artist, album)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_insight_albums_plays ON insight_albums (user, plays);
CREATE TABLE IF NOT EXISTS insight_sources (
    user TEXT NOT NULL, sources TEXT NOT NULL, client TEXT NOT NULL, plays INTEGER NOT NULL,
    PRIMARY KEY (user, sources, client)) WITHOUT ROWID;
-- the hit rate: plays of one recording within days of its import
CREATE INDEX IF NOT EXISTS ix_history_plays_recording_time ON history_plays (user, recording_mbid, played_ts);
-- an artist's first play is found again when the play that was first goes away
CREATE INDEX IF NOT EXISTS ix_history_plays_artist ON history_plays (user, artist, played_ts);
"""


def _add(r: str) -> str:
    """Statements adding row `r` (NEW) to every roll-up."""
    ms = f"COALESCE({r}.duration_ms, 0)"
    day = f"CAST({r}.played_ts / 86400 AS INTEGER)"
    hour = f"CAST({r}.played_ts / 3600 AS INTEGER)"
    return f"""
    INSERT INTO insight_hours VALUES ({r}.user, CAST({r}.played_ts / 3600 AS INTEGER), 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_clock VALUES ({r}.user, {hour} / 672, {hour} % 168, 1)
        ON CONFLICT DO UPDATE SET plays = plays + 1;
    INSERT INTO insight_days VALUES ({r}.user, {day}, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_artist_days VALUES ({r}.user, {day}, {r}.artist, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_track_days VALUES ({r}.user, {day}, {r}.track_key, {r}.artist, {r}.title, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms, artist = excluded.artist,
        title = excluded.title;
    INSERT INTO insight_album_days SELECT {r}.user, {day}, {r}.artist, {r}.album, 1, {ms}
        WHERE COALESCE({r}.album, '') != ''
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_source_days VALUES ({r}.user, {day}, {r}.sources, COALESCE({r}.client, ''), 1)
        ON CONFLICT DO UPDATE SET plays = plays + 1;
    INSERT INTO insight_sources VALUES ({r}.user, {r}.sources, COALESCE({r}.client, ''), 1)
        ON CONFLICT DO UPDATE SET plays = plays + 1;
    INSERT INTO insight_artists VALUES ({r}.user, {r}.artist, 1, {ms}, {r}.played_ts)
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms,
        first_ts = MIN(first_ts, excluded.first_ts);
    INSERT INTO insight_tracks VALUES ({r}.user, {r}.track_key, {r}.artist, {r}.title, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms, artist = excluded.artist,
        title = excluded.title;
    INSERT INTO insight_albums SELECT {r}.user, {r}.artist, {r}.album, 1, {ms}
        WHERE COALESCE({r}.album, '') != ''
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_recording_days SELECT {r}.user, {day}, {r}.recording_mbid, 1, {ms}
        WHERE {r}.recording_mbid IS NOT NULL
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_recordings SELECT {r}.user, {r}.recording_mbid, 1, {ms}
        WHERE {r}.recording_mbid IS NOT NULL
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
"""


def _take(r: str) -> str:
    """Statements taking row `r` (OLD, already gone from history_plays) from every roll-up."""
    ms = f"COALESCE({r}.duration_ms, 0)"
    day = f"CAST({r}.played_ts / 86400 AS INTEGER)"
    out = []
    keyed = (
        ("insight_hours", f"user = {r}.user AND hour = CAST({r}.played_ts / 3600 AS INTEGER)", True),
        ("insight_days", f"user = {r}.user AND day = {day}", True),
        (
            "insight_clock",
            f"user = {r}.user AND block = CAST({r}.played_ts / 3600 AS INTEGER) / 672 "
            f"AND how = CAST({r}.played_ts / 3600 AS INTEGER) % 168",
            False,
        ),
        ("insight_artist_days", f"user = {r}.user AND day = {day} AND artist = {r}.artist", True),
        ("insight_track_days", f"user = {r}.user AND day = {day} AND track_key = {r}.track_key", True),
        ("insight_album_days", f"user = {r}.user AND day = {day} AND artist = {r}.artist AND album = {r}.album", True),
        (
            "insight_source_days",
            f"user = {r}.user AND day = {day} AND sources = {r}.sources AND client = COALESCE({r}.client, '')",
            False,
        ),
        ("insight_sources", f"user = {r}.user AND sources = {r}.sources AND client = COALESCE({r}.client, '')", False),
        ("insight_artists", f"user = {r}.user AND artist = {r}.artist", True),
        ("insight_tracks", f"user = {r}.user AND track_key = {r}.track_key", True),
        ("insight_albums", f"user = {r}.user AND artist = {r}.artist AND album = {r}.album", True),
        (
            "insight_recording_days",
            f"user = {r}.user AND day = {day} AND recording_mbid = {r}.recording_mbid",
            True,
        ),
        ("insight_recordings", f"user = {r}.user AND recording_mbid = {r}.recording_mbid", True),
    )
    for table, where, has_ms in keyed:
        sets = "plays = plays - 1" + (f", ms = ms - {ms}" if has_ms else "")
        out.append(f"UPDATE {table} SET {sets} WHERE {where};")
        out.append(f"DELETE FROM {table} WHERE {where} AND plays <= 0;")
    out.append(
        f"UPDATE insight_artists SET first_ts = (SELECT MIN(played_ts) FROM history_plays "
        f"WHERE user = {r}.user AND artist = {r}.artist) "
        f"WHERE user = {r}.user AND artist = {r}.artist AND first_ts >= {r}.played_ts;"
    )
    return "\n    ".join(out)


_COUNTED = "user, played_ts, artist, title, album, duration_ms, sources, client, track_key, recording_mbid"

TRIGGERS = {
    "insight_play_added": f"AFTER INSERT ON history_plays BEGIN {_add('NEW')} END",
    "insight_play_removed": f"AFTER DELETE ON history_plays BEGIN {_take('OLD')} END",
    "insight_play_changed": f"AFTER UPDATE OF {_COUNTED} ON history_plays BEGIN {_take('OLD')} {_add('NEW')} END",
}


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
    missing = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'insight_recordings'").fetchone() is None
    if not stale and not missing:
        return
    # a store from before the recording roll-ups (or a new one): make them, fill them from the plays and renew the
    # triggers in one transaction, so no play is counted twice or missed
    conn.execute("BEGIN IMMEDIATE")
    try:
        missing = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'insight_recordings'").fetchone() is None
        for name in TRIGGERS:
            conn.execute(f"DROP TRIGGER IF EXISTS {name}")
        if missing:
            for sql in (*_RECORDINGS, *_BACKFILL):
                conn.execute(sql)
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
