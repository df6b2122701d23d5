"""Fold `ListenRecorded`, `ListenMatched` and `ListenUnmatched` into the history store, and the library's genres per
recording from `TrackImported`.

Each batch is one transaction with the new stream positions; a sequence at or below its stream's checkpoint was
applied before and is skipped, so redelivery and replay change nothing twice. Plays are derived from sightings by
the merge rule (merge.py) and recomputed only for the chain around what changed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.base import Message
from contracts.ingest import ListenRecorded
from contracts.library import TrackImported
from contracts.resolve import ListenMatched, ListenUnmatched

from .merge import MergeConfig, Sighting, chain_bounds, cluster, track_key

__all__ = ["HistoryFold", "client_of"]

_TEXT_PREFERENCE = ("subsonic", "sonos", "listenbrainz", "spotify", "lastfm")
"""Whose artist/title/album a play shows: library tags first (MusicBrainz-normalized), then the services."""
_METHOD_RANK = {"mbid": 0, "isrc": 1, "fuzzy": 2}


@dataclass(frozen=True)
class _Row:
    listen_id: str
    source: str
    start: float
    duration_ms: int | None
    artist: str
    title: str
    album: str | None
    trusted_mbid: str | None
    isrc: str | None
    client: str | None
    play_id: str


def client_of(event: ListenRecorded) -> str | None:
    """Where the play happened: the Subsonic client, the Sonos room, or the player ListenBrainz was told of."""
    for key in ("client", "room", "speaker", "device"):
        if event.source_ids.get(key):
            return event.source_ids[key]
    info = (event.raw.get("track_metadata") or {}).get("additional_info") or {}
    player = info.get("media_player") or info.get("submission_client")
    return str(player) if player else None


class HistoryFold:
    def __init__(self, conn: sqlite3.Connection, cfg: MergeConfig | None = None) -> None:
        self.conn = conn
        self.cfg = cfg or MergeConfig()
        self.counts: Counter[str] = Counter()
        self._write = threading.Lock()

    def positions(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT stream, seq FROM history_checkpoints").fetchall())

    def apply(self, batch: Sequence[tuple[Message, str, int]]) -> int:
        """Apply events in order in one transaction; returns how many were not applied before."""
        applied = 0
        with self._write:
            marks = self.positions()
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for event, stream, seq in batch:
                    if seq <= marks.get(stream, 0):
                        continue
                    self._fold(event)
                    marks[stream] = seq
                    applied += 1
                self.conn.executemany(
                    "INSERT INTO history_checkpoints (stream, seq) VALUES (?, ?) "
                    "ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq",
                    list(marks.items()),
                )
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        return applied

    # events ------------------------------------------------------------------------------------------------------

    def _fold(self, event: Message) -> None:
        match event:
            case ListenRecorded() as e:
                self._sighting(e)
            case ListenMatched() as e:
                self._match(str(e.listen_id), e.attempt, e.occurred_at, mbid=str(e.recording_mbid), method=e.method)
            case ListenUnmatched() as e:
                self._match(str(e.listen_id), e.attempt, e.occurred_at, reason=e.reason, detail=e.detail)
            case TrackImported() as e:
                self._genres(e)

    def _genres(self, e: TrackImported) -> None:
        """The recording's genres as the library last imported them (a re-import replaces them). An event without
        its catalog entry (written before entries existed) says nothing about genres and changes nothing; a removed
        track keeps its genres, since its plays still happened."""
        if e.entry is None:
            return
        mbid = str(e.recording_mbid)
        genres = sorted({g.strip() for g in e.entry.genres if g.strip()})
        # only the genres that went away: the roll-ups of a kept genre are not counted down and up again
        self.conn.execute(
            "DELETE FROM history_genres WHERE recording_mbid = ? AND genre NOT IN (SELECT value FROM json_each(?))",
            (mbid, json.dumps(genres)),
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO history_genres (recording_mbid, genre) VALUES (?, ?)", [(mbid, g) for g in genres]
        )
        self.counts["genres"] += 1

    def _sighting(self, e: ListenRecorded) -> None:
        listen_id = str(e.event_id)
        duration_s = e.duration_ms / 1000 if e.duration_ms else None
        start = Sighting.start_of(e.source, e.listened_at.timestamp(), duration_s)
        key = track_key(e.artist, e.title)
        trusted = e.trusted_mbid()
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO history_sightings (listen_id, user, source, played_at, start, duration_ms, "
            "track_key, artist, title, album, recording_mbid, trusted_mbid, isrc, client, source_ids, raw, play_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                listen_id,
                e.user or "",
                str(e.source),
                e.listened_at.astimezone(UTC).isoformat(),
                start,
                e.duration_ms,
                key,
                e.artist,
                e.title,
                e.album,
                str(e.recording_mbid) if e.recording_mbid else None,
                str(trusted) if trusted else None,
                e.isrc,
                client_of(e),
                json.dumps(e.source_ids, sort_keys=True),
                json.dumps(e.raw, sort_keys=True, default=str),
                listen_id,
            ),
        )
        if cur.rowcount:
            self.counts["sightings"] += 1
            self._recluster(e.user or "", key, start)

    def _match(
        self,
        listen_id: str,
        attempt: int,
        at: datetime,
        *,
        mbid: str | None = None,
        method: str | None = None,
        reason: str | None = None,
        detail: str = "",
    ) -> None:
        old = self.conn.execute(
            "SELECT attempt, recording_mbid FROM history_matches WHERE listen_id = ?", (listen_id,)
        ).fetchone()
        # a match is final; a newer attempt replaces an older answer; a match beats a miss of the same attempt
        if old is not None and (old[1] is not None or old[0] > attempt or (old[0] == attempt and mbid is None)):
            return
        self.conn.execute(
            "INSERT OR REPLACE INTO history_matches (listen_id, recording_mbid, method, distance, reason, detail, "
            "attempt, at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
            (
                listen_id,
                mbid,
                str(method) if method else None,
                str(reason) if reason else None,
                detail,
                attempt,
                at.timestamp(),
            ),
        )
        self.counts["matched" if mbid else "unmatched"] += 1
        play = self.conn.execute("SELECT play_id FROM history_sightings WHERE listen_id = ?", (listen_id,)).fetchone()
        if play is not None:
            members = self._rows("play_id = ?", (play[0],))
            user, key = self.conn.execute(
                "SELECT user, track_key FROM history_sightings WHERE listen_id = ?", (listen_id,)
            ).fetchone()
            self._write_play(play[0], members, user, key)

    # plays -------------------------------------------------------------------------------------------------------

    def _rows(self, where: str, args: tuple[Any, ...]) -> list[_Row]:
        return [
            _Row(*r)
            for r in self.conn.execute(
                "SELECT listen_id, source, start, duration_ms, artist, title, album, trusted_mbid, isrc, client, "
                f"play_id FROM history_sightings WHERE {where}",
                args,
            ).fetchall()
        ]

    def _recluster(self, user: str, key: str, start: float) -> None:
        reach = self.cfg.tolerance_s * 8
        while True:
            near = self._rows(
                "user = ? AND track_key = ? AND start BETWEEN ? AND ? ORDER BY start",
                (user, key, start - reach, start + reach),
            )
            low, high = chain_bounds([r.start for r in near], start, self.cfg)
            if low - (start - reach) > self.cfg.tolerance_s and (start + reach) - high > self.cfg.tolerance_s:
                break
            reach *= 8  # a long chain of back-to-back reports: look farther
        rows = [r for r in near if low <= r.start <= high]
        by_id = {r.listen_id: r for r in rows}
        sightings = [
            Sighting(r.listen_id, r.source, r.start, r.duration_ms / 1000 if r.duration_ms else None) for r in rows
        ]
        old_plays = {r.play_id for r in rows}
        new_plays = cluster(sightings, self.cfg)
        new_ids = {play[0].listen_id for play in new_plays}
        for gone in old_plays - new_ids:
            self.conn.execute("DELETE FROM history_plays WHERE play_id = ?", (gone,))
        for play in new_plays:
            play_id = play[0].listen_id
            members = [by_id[s.listen_id] for s in play]
            moved = [(play_id, m.listen_id) for m in members if m.play_id != play_id]
            if moved:
                self.conn.executemany("UPDATE history_sightings SET play_id = ? WHERE listen_id = ?", moved)
            self._write_play(play_id, members, user, key)

    def _write_play(self, play_id: str, members: list[_Row], user: str, key: str) -> None:
        members = sorted(members, key=lambda m: (m.start, m.source, m.listen_id))
        anchor = members[0]
        shown = min(members, key=lambda m: (_rank(m.source), m.start, m.listen_id))
        ids = [m.listen_id for m in members]
        marks = ",".join("?" * len(ids))
        matches = self.conn.execute(
            f"SELECT listen_id, recording_mbid, method, reason, attempt, at FROM history_matches "
            f"WHERE listen_id IN ({marks})",
            ids,
        ).fetchall()
        trusted = [m for m in members if m.trusted_mbid]
        found = sorted((_METHOD_RANK.get(m[2] or "", 9), m[0], m[1], m[2]) for m in matches if m[1])
        misses = [m for m in matches if not m[1]]
        attempts = max((m[4] for m in matches), default=0)
        last_try = max((m[5] for m in matches), default=None)
        reason = None
        if trusted:
            mbid, method, state = (
                min(trusted, key=lambda m: (_rank(m.source), m.listen_id)).trusted_mbid,
                "mbid",
                "matched",
            )
        elif found:
            mbid, method, state = found[0][2], found[0][3], "matched"
        elif misses:
            latest = max(misses, key=lambda m: (m[4], m[5]))
            mbid, method, state, reason = None, None, "unmatched", latest[3]
        else:
            mbid, method, state = None, None, "pending"
        self.conn.execute(
            "INSERT OR REPLACE INTO history_plays (play_id, user, played_at, played_ts, artist, title, album, "
            "duration_ms, recording_mbid, match_method, isrc, sources, client, track_key, match_state, "
            "unmatched_reason, match_attempts, last_try_ts) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                play_id,
                user,
                datetime.fromtimestamp(anchor.start, UTC).isoformat(),
                anchor.start,
                shown.artist,
                shown.title,
                shown.album or next((m.album for m in members if m.album), None),
                shown.duration_ms or next((m.duration_ms for m in members if m.duration_ms), None),
                mbid,
                method,
                next((m.isrc for m in members if m.isrc), None),
                ",".join(sorted({m.source for m in members})),
                next((m.client for m in members if m.client), None),
                key,
                state,
                reason,
                attempts,
                last_try,
            ),
        )


def _rank(source: str) -> int:
    return _TEXT_PREFERENCE.index(source) if source in _TEXT_PREFERENCE else len(_TEXT_PREFERENCE)
