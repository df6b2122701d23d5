"""The lifecycle's state in the catalog database: a fold of LIBRARY's `library.discovery.*` events (`fold.py`).

The live service applies each decision right after publishing it, and `brainstream replay discoveries` folds the
same events into a fresh copy, so both hold the same rows. This module reads those rows; the playlists are a
function of them (`playlists`), written into the built-in server by `sync_playlists`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, select, update

from contracts.base import Message

from ..adapters.schema import (
    discovery_entry_t,
    discovery_flag_t,
    discovery_play_t,
    discovery_tombstone_t,
    discovery_track_t,
    playlist_entry_t,
    playlist_t,
    projection_t,
    rating_t,
    star_t,
)
from ..adapters.userdata import UserStore
from .fold import KEPT, OPEN, apply_event
from .fold import utc as _utc
from .plays import Report

__all__ = [
    "LIFECYCLE_TABLES",
    "ROLLING",
    "DiscoveryStore",
    "Entry",
    "Mark",
    "Track",
    "playlist_id",
    "weekly_name",
]

ROLLING = "Discoveries"
LIFECYCLE_TABLES = (discovery_track_t, discovery_entry_t, discovery_tombstone_t, discovery_flag_t)
"""What a replay rebuilds (the plays are input of the keep rule, not a projection)."""
_PLAYLIST_NS = uuid.UUID("5d0f3c52-8f0e-5b8e-9a5c-3c1b2f7d9e41")


def weekly_name(week: str) -> str:
    return f"Discoveries {week}"


def playlist_id(user: str, name: str) -> str:
    """The same user and name give the same id, so a replay rewrites the playlist a client already holds."""
    return uuid.uuid5(_PLAYLIST_NS, f"{user}\x00{name}").hex


@dataclass(frozen=True)
class Track:
    track_id: str
    recording_mbid: str
    status: str
    epoch: str
    artist: str
    title: str
    album: str | None
    path: str
    size: int
    first_added: datetime
    last_added: datetime
    reason: str
    detail: str
    trash_path: str
    purge_at: datetime | None


@dataclass(frozen=True)
class Entry:
    user: str
    week: str
    track_id: str
    position: int
    added_at: datetime


@dataclass(frozen=True)
class Mark:
    """Something a user did in the built-in server to an open discovery: a star, a rating, a playlist of theirs."""

    user: str
    track_id: str
    kind: str  # star, rating, playlist
    value: str  # the rating, or the playlist's name


def _track(row: Any) -> Track:
    return Track(
        row.track_id,
        row.recording_mbid,
        row.status,
        row.epoch,
        row.artist,
        row.title,
        row.album,
        row.path,
        row.size,
        _utc(row.first_added) or row.first_added,
        _utc(row.last_added) or row.last_added,
        row.reason,
        row.detail,
        row.trash_path,
        _utc(row.purge_at),
    )


class DiscoveryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # the fold -----------------------------------------------------------------------------------------------------

    def apply(self, events: Sequence[Message], *, projection: tuple[str, int] | None = None) -> None:
        with self.engine.begin() as conn:
            for event in events:
                apply_event(conn, event)
            if projection is not None:
                name, position = projection
                conn.execute(delete(projection_t).where(projection_t.c.name == name))
                conn.execute(projection_t.insert().values(name=name, position=position))

    def clear(self) -> None:
        """Empty the lifecycle's tables (a fresh replay)."""
        with self.engine.begin() as conn:
            for table in LIFECYCLE_TABLES:
                conn.execute(delete(table))

    # reads --------------------------------------------------------------------------------------------------------

    def track(self, track_id: str) -> Track | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(discovery_track_t).where(discovery_track_t.c.track_id == track_id)).first()
        return _track(row) if row else None

    def by_recording(self, mbid: str) -> Track | None:
        """The discovery of this recording that is still in the library (open or kept), else the latest other."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(discovery_track_t).where(discovery_track_t.c.recording_mbid == mbid)).all()
        tracks = sorted((_track(r) for r in rows), key=lambda t: (t.status in (OPEN, KEPT), t.last_added))
        return tracks[-1] if tracks else None

    def tracks(self, *statuses: str) -> list[Track]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(discovery_track_t)
                .where(discovery_track_t.c.status.in_(statuses))
                .order_by(discovery_track_t.c.first_added, discovery_track_t.c.track_id)
            ).all()
        return [_track(r) for r in rows]

    def entries(self, track_id: str | None = None, user: str | None = None) -> list[Entry]:
        query = select(discovery_entry_t)
        if track_id is not None:
            query = query.where(discovery_entry_t.c.track_id == track_id)
        if user is not None:
            query = query.where(discovery_entry_t.c.username == user)
        query = query.order_by(discovery_entry_t.c.username, discovery_entry_t.c.week, discovery_entry_t.c.position)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [Entry(r.username, r.week, r.track_id, r.position, _utc(r.added_at) or r.added_at) for r in rows]

    def open_bytes(self) -> int:
        """What the unkept discoveries take on disk."""
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(discovery_track_t.c.size), 0)).where(discovery_track_t.c.status == OPEN)
            ).scalar()
        return int(total or 0)

    def open_entries(self) -> dict[str, list[Entry]]:
        """Every weekly entry of the open discoveries, by track (one query, for the tick)."""
        e = discovery_entry_t.c
        query = (
            select(discovery_entry_t)
            .join(discovery_track_t, discovery_track_t.c.track_id == e.track_id)
            .where(discovery_track_t.c.status == OPEN)
            .order_by(e.username, e.week, e.position)
        )
        out: dict[str, list[Entry]] = {}
        with self.engine.connect() as conn:
            for r in conn.execute(query):
                entry = Entry(r.username, r.week, r.track_id, r.position, _utc(r.added_at) or r.added_at)
                out.setdefault(r.track_id, []).append(entry)
        return out

    def next_position(self, user: str, week: str) -> int:
        with self.engine.connect() as conn:
            top = conn.execute(
                select(func.max(discovery_entry_t.c.position)).where(
                    discovery_entry_t.c.username == user, discovery_entry_t.c.week == week
                )
            ).scalar()
        return 0 if top is None else int(top) + 1

    def tombstones(self) -> dict[tuple[str, str], dict[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(discovery_tombstone_t)).all()
        return {
            (r.username, r.recording_mbid): {"reason": r.reason, "artist": r.artist, "track_id": r.track_id}
            for r in rows
        }

    def flag(self, name: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(discovery_flag_t.c.value).where(discovery_flag_t.c.name == name)).scalar()
        return None if value is None else str(value)

    def users(self) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(discovery_entry_t.c.username).distinct().order_by(discovery_entry_t.c.username))
            return [r[0] for r in rows]

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the lifecycle's tables, sorted (what a replay must give again)."""
        with self.engine.connect() as conn:
            return {
                t.name: sorted(
                    tuple(str(_utc(v)) if isinstance(v, datetime) else v for v in r) for r in conn.execute(select(t))
                )
                for t in LIFECYCLE_TABLES
            }

    # the keep rule's inputs ---------------------------------------------------------------------------------------

    def record_listen(
        self, listen_id: str, user: str | None, source: str, at: datetime, duration_ms: int | None, mbid: str | None
    ) -> tuple[str | None, str | None]:
        """Note a play; returns its (user, recording) once both are known (the match may come first or later)."""
        fields = {"username": user, "source": source, "started_at": at, "duration_ms": duration_ms}
        return self._listen(listen_id, fields, mbid, matched=False)

    def record_match(self, listen_id: str, mbid: str) -> tuple[str | None, str | None]:
        """resolve-svc's match of a play; it wins over the MBID the play itself carried."""
        return self._listen(listen_id, {}, mbid, matched=True)

    def _listen(
        self, listen_id: str, fields: dict[str, Any], mbid: str | None, *, matched: bool
    ) -> tuple[str | None, str | None]:
        with self.engine.begin() as conn:
            key = discovery_play_t.c.listen_id == listen_id
            row = conn.execute(select(discovery_play_t).where(key)).first()
            values = dict(fields)
            if mbid is not None and (matched or row is None or row.recording_mbid is None):
                values["recording_mbid"] = mbid
            if row is None:
                conn.execute(discovery_play_t.insert().values(listen_id=listen_id, **values))
            elif values:
                conn.execute(update(discovery_play_t).where(key).values(**values))
            done = conn.execute(select(discovery_play_t).where(key)).one()
        return done.username, done.recording_mbid

    def forget_listen(self, listen_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(discovery_play_t).where(discovery_play_t.c.listen_id == listen_id))

    def reports(self, user: str, mbid: str, since: datetime) -> list[Report]:
        """The user's reported plays of a recording from `since` on."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(discovery_play_t).where(
                    discovery_play_t.c.username == user, discovery_play_t.c.recording_mbid == mbid
                )
            ).all()
        out = [Report(r.listen_id, r.source, _utc(r.started_at) or since, r.duration_ms) for r in rows]
        return [r for r in out if r.at >= since]

    def marks(self, track_ids: Iterable[str], discovery_playlists: set[str]) -> list[Mark]:
        """Stars, ratings and (own, not discovery) playlists of any user on these tracks."""
        ids = list(track_ids)
        if not ids:
            return []
        out: list[Mark] = []
        with self.engine.connect() as conn:
            for r in conn.execute(select(star_t.c.username, star_t.c.item_id).where(star_t.c.item_id.in_(ids))):
                out.append(Mark(r.username, r.item_id, "star", ""))
            ratings = select(rating_t.c.username, rating_t.c.item_id, rating_t.c.rating).where(
                rating_t.c.item_id.in_(ids)
            )
            for rated in conn.execute(ratings):
                out.append(Mark(rated.username, rated.item_id, "rating", str(rated.rating)))
            lists = (
                select(playlist_t.c.owner, playlist_t.c.id, playlist_t.c.name, playlist_entry_t.c.track_id)
                .join(playlist_entry_t, playlist_entry_t.c.playlist_id == playlist_t.c.id)
                .where(playlist_entry_t.c.track_id.in_(ids))
                .order_by(playlist_t.c.name, playlist_t.c.id)
            )
            for listed in conn.execute(lists):
                if listed.id not in discovery_playlists:
                    out.append(Mark(listed.owner, listed.track_id, "playlist", listed.name))
        return out

    # playlists ----------------------------------------------------------------------------------------------------

    def playlists(self, user: str) -> dict[str, list[str]]:
        """The user's discovery playlists as they should be: one per week (in order of arrival) and the rolling one
        (every discovery not yet kept or expired, oldest first). Expired tracks and the user's hated ones are out."""
        e, t, tomb = discovery_entry_t.c, discovery_track_t.c, discovery_tombstone_t.c
        query = (
            select(e.week, e.track_id, e.position, e.added_at, t.status, t.recording_mbid)
            .select_from(discovery_entry_t)
            .join(discovery_track_t, t.track_id == e.track_id)
            .where(e.username == user)
            .order_by(e.week, e.position)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            hated = {
                r[0] for r in conn.execute(select(tomb.recording_mbid).where(tomb.username == user))
            }  # this user's tombstones
        weeks: dict[str, list[str]] = {}
        rolling: list[tuple[datetime, str, int, str]] = []
        for row in rows:
            tracks = weeks.setdefault(weekly_name(row.week), [])
            if row.status not in (OPEN, KEPT) or row.recording_mbid in hated:
                continue
            tracks.append(row.track_id)
            if row.status == OPEN:
                rolling.append((_utc(row.added_at) or row.added_at, row.week, row.position, row.track_id))
        seen: set[str] = set()
        ordered = []
        for *_, tid in sorted(rolling):
            if tid not in seen:
                seen.add(tid)
                ordered.append(tid)
        return {ROLLING: ordered, **weeks}

    def playlist_ids(self) -> set[str]:
        """Ids of every discovery playlist (a track in one of them is not "in a playlist of one's own")."""
        with self.engine.connect() as conn:
            pairs = conn.execute(select(discovery_entry_t.c.username, discovery_entry_t.c.week).distinct()).all()
        ids = {playlist_id(user, weekly_name(week)) for user, week in pairs}
        return ids | {playlist_id(user, ROLLING) for user, _ in pairs}


def sync_playlists(store: DiscoveryStore, users: UserStore, names: Iterable[str], when: datetime) -> int:
    """Write the discovery playlists of these users into the built-in server, owned by each user; returns how many
    changed. A playlist already right is not touched."""
    changed = 0
    for user in names:
        for name, track_ids in store.playlists(user).items():
            pid = playlist_id(user, name)
            current = users.playlist(pid)
            if current is None:  # (notify=False: the lifecycle's own writes do not wake it again)
                users.create_playlist(user, name, track_ids, when, playlist_id=pid, notify=False)
            elif current.track_ids != track_ids:
                users.replace_entries(pid, track_ids, when, notify=False)
            else:
                continue
            changed += 1
    return changed
