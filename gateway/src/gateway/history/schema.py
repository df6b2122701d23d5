"""Tables of the listening-history store (its own SQLite file, `history.db`, beside the gateway's database).

Three tables of facts and one of positions, all written by the fold alone:
- `history_sightings`: one row per source report of a play (one `ListenRecorded`), with its own ids and raw payload;
- `history_matches`: the latest match answer per sighting (`ListenMatched` / `ListenUnmatched`);
- `history_plays`: one row per real play per user, derived from the two above by the merge rule (merge.py). This is
  the table readers use: indexed by (user, played_ts) for the history and for insights, by recording for counts;
- `history_genres`: the library's genres per recording, from `TrackImported` (the entry's genres); plays join it by
  recording MBID for the top genres of insights;
- `history_checkpoints`: the last stream sequence applied, per stream, written in the same transaction as the rows.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..insights.rollup import ROLLUP_TABLES
from ..insights.rollup_store import install as install_rollups

__all__ = ["TABLES", "connect"]

# the roll-ups come last: a replay's install replaces them after the plays whose triggers touched them
TABLES = (
    "history_sightings",
    "history_matches",
    "history_plays",
    "history_genres",
    "history_checkpoints",
    *ROLLUP_TABLES,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS history_sightings (
    listen_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    source TEXT NOT NULL,
    played_at TEXT NOT NULL,
    start REAL NOT NULL,
    duration_ms INTEGER,
    track_key TEXT NOT NULL,
    artist TEXT NOT NULL,
    title TEXT NOT NULL,
    album TEXT,
    recording_mbid TEXT,
    trusted_mbid TEXT,
    isrc TEXT,
    client TEXT,
    source_ids TEXT NOT NULL,
    raw TEXT NOT NULL,
    play_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_history_sightings_track ON history_sightings (user, track_key, start);
CREATE INDEX IF NOT EXISTS ix_history_sightings_play ON history_sightings (play_id);
CREATE TABLE IF NOT EXISTS history_matches (
    listen_id TEXT PRIMARY KEY,
    recording_mbid TEXT,
    method TEXT,
    distance REAL,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS history_plays (
    play_id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    played_at TEXT NOT NULL,
    played_ts REAL NOT NULL,
    artist TEXT NOT NULL,
    title TEXT NOT NULL,
    album TEXT,
    duration_ms INTEGER,
    recording_mbid TEXT,
    match_method TEXT,
    isrc TEXT,
    sources TEXT NOT NULL,
    client TEXT,
    track_key TEXT NOT NULL,
    match_state TEXT NOT NULL,
    unmatched_reason TEXT,
    match_attempts INTEGER NOT NULL DEFAULT 0,
    last_try_ts REAL
);
CREATE INDEX IF NOT EXISTS ix_history_plays_user_time ON history_plays (user, played_ts, play_id);
CREATE INDEX IF NOT EXISTS ix_history_plays_time ON history_plays (played_ts, play_id);
CREATE INDEX IF NOT EXISTS ix_history_plays_recording ON history_plays (user, recording_mbid);
CREATE INDEX IF NOT EXISTS ix_history_plays_state ON history_plays (match_state, last_try_ts);
CREATE TABLE IF NOT EXISTS history_genres (
    recording_mbid TEXT NOT NULL,
    genre TEXT NOT NULL,
    PRIMARY KEY (recording_mbid, genre)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history_checkpoints (
    stream TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
"""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.executescript(_SCHEMA)
    install_rollups(conn)  # insights: kept in step with history_plays by triggers
    return conn
