"""A generated listening history written straight into the history store's `history_plays` (as the fold writes
it, so the roll-up triggers run), for insights tests and the insights bench."""

from __future__ import annotations

import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

__all__ = ["Play", "generate", "insert"]

_HOURS = list(accumulate((1, 0.5, 0.2, 0.1, 0.1, 0.2, 1, 3, 4, 3, 2, 2, 3, 2, 2, 2, 3, 5, 6, 6, 6, 5, 4, 2)))

SOURCES = ("listenbrainz", "lastfm", "lastfm,listenbrainz", "subsonic", "spotify", "listenbrainz,subsonic")
CLIENTS = (None, "Feishin", "Living Room", "Symfonium")


@dataclass(frozen=True)
class Play:
    play_id: str
    user: str
    ts: float
    artist: str
    title: str
    album: str | None
    duration_ms: int | None
    sources: str
    client: str | None
    recording_mbid: str | None

    @property
    def track_key(self) -> str:
        return f"{self.artist.lower()}\x1f{self.title.lower()}"


def generate(
    user: str, n: int, start: float, end: float, *, seed: int = 1, artists: int = 400, tracks_per_artist: int = 12
) -> Iterator[Play]:
    """`n` plays between `start` and `end` (unix seconds), artists and tracks Zipf-like (a few played a lot)."""
    rng = random.Random(seed)
    cum = list(accumulate(1 / (i + 1) for i in range(artists)))
    names = [f"Artist {i:04d}" for i in range(artists)]
    for i in range(n):
        a = rng.choices(range(artists), cum_weights=cum)[0]
        t = min(int(rng.expovariate(0.4)), tracks_per_artist - 1)
        # listening follows the day: little at night, most in the evening (UTC here; zones shift it)
        day = int(rng.uniform(start, end)) // 86400 * 86400
        hour = rng.choices(range(24), cum_weights=_HOURS)[0]
        ts = float(min(max(day + hour * 3600 + rng.randrange(3600), int(start)), int(end) - 1))
        yield Play(
            play_id=f"{user}-{seed}-{i}",
            user=user,
            ts=ts,
            artist=names[a],
            title=f"Song {t}",
            album=f"Album {t // 4}" if t % 5 else None,
            duration_ms=rng.choice((180_000, 200_000, 240_000, None)),
            sources=rng.choice(SOURCES),
            client=rng.choice(CLIENTS),
            recording_mbid=str(uuid.UUID(int=a * 1000 + t + 1)),
        )


def insert(conn: sqlite3.Connection, plays: Iterator[Play] | list[Play], batch: int = 20_000) -> int:
    sql = (
        "INSERT OR REPLACE INTO history_plays (play_id, user, played_at, played_ts, artist, title, album, duration_ms, "
        "recording_mbid, match_method, sources, client, track_key, match_state) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    done = 0
    rows: list[tuple[object, ...]] = []

    def flush() -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        rows.clear()

    for p in plays:
        rows.append(
            (
                p.play_id,
                p.user,
                datetime.fromtimestamp(p.ts, UTC).isoformat(),
                p.ts,
                p.artist,
                p.title,
                p.album,
                p.duration_ms,
                p.recording_mbid,
                "mbid" if p.recording_mbid else None,
                p.sources,
                p.client,
                p.track_key,
                "matched" if p.recording_mbid else "pending",
            )
        )
        done += 1
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    return done
