"""Per-user catalog data written by the Subsonic API: stars, ratings, plays, playlists, play queue."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .schema import (
    album_play_t,
    play_queue_t,
    play_t,
    playlist_entry_t,
    playlist_t,
    rating_t,
    star_t,
)

__all__ = ["PlayQueue", "Playlist", "UserStore"]


@dataclass(frozen=True)
class Playlist:
    id: str
    owner: str
    name: str
    comment: str
    public: bool
    created: datetime
    changed: datetime
    track_ids: list[str]


@dataclass(frozen=True)
class PlayQueue:
    current: str | None
    position_ms: int
    changed: datetime
    changed_by: str
    track_ids: list[str]


class UserStore:
    def __init__(
        self,
        engine: Engine,
        on_change: Callable[[str], None] | None = None,
        on_playlist: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self._changed = on_change or (lambda user: None)
        self._playlist_changed = on_playlist or (lambda owner: None)
        """Called with the owner after a playlist is made or its tracks change (the discovery lifecycle looks)."""
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def _upsert(self, conn: Connection, table: Any, row: dict[str, Any], updates: dict[str, Any]) -> None:
        key = [c.name for c in table.primary_key.columns]
        conn.execute(self._insert(table).values(**row).on_conflict_do_update(index_elements=key, set_=updates))

    def star(self, user: str, items: Sequence[tuple[str, str]], when: datetime) -> None:
        with self.engine.begin() as conn:
            for item_id, kind in items:
                row = {"username": user, "item_id": item_id, "kind": kind, "starred_at": when}
                conn.execute(self._insert(star_t).values(**row).on_conflict_do_nothing())
        self._changed(user)

    def unstar(self, user: str, item_ids: Sequence[str]) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(star_t).where(star_t.c.username == user, star_t.c.item_id.in_(list(item_ids))))
        self._changed(user)

    def set_rating(self, user: str, item_id: str, rating: int) -> None:
        with self.engine.begin() as conn:
            if rating == 0:
                conn.execute(delete(rating_t).where(rating_t.c.username == user, rating_t.c.item_id == item_id))
            else:
                row = {"username": user, "item_id": item_id, "rating": rating}
                self._upsert(conn, rating_t, row, {"rating": rating})
        self._changed(user)

    def record_play(self, user: str, track_id: str, album_id: str, when: datetime) -> None:
        with self.engine.begin() as conn:
            for table, key, item in ((play_t, "track_id", track_id), (album_play_t, "album_id", album_id)):
                row = {"username": user, key: item, "count": 1, "last_played": when}
                updates = {"count": table.c.count + 1, "last_played": func.max(table.c.last_played, when)}
                if self.engine.dialect.name == "postgresql":
                    updates["last_played"] = func.greatest(table.c.last_played, when)
                self._upsert(conn, table, row, updates)

        # playlists ----------------------------------------------------------------------------------------------------
        self._changed(user)

    def playlists(self, user: str) -> list[Playlist]:
        """The user's own playlists and everyone's public ones, by name."""
        with self.engine.connect() as conn:
            order = (playlist_t.c.name, playlist_t.c.id)
            own = conn.execute(select(playlist_t).where(playlist_t.c.owner == user).order_by(*order)).all()
            public = conn.execute(select(playlist_t).where(playlist_t.c.public.is_(True)).order_by(*order)).all()
            rows = {r.id: r for r in [*own, *public]}
            return [self._playlist(conn, r) for r in sorted(rows.values(), key=lambda r: (r.name, r.id))]

    def playlist(self, playlist_id: str) -> Playlist | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(playlist_t).where(playlist_t.c.id == playlist_id)).first()
            return self._playlist(conn, row) if row else None

    def _playlist(self, conn: Connection, row: Any) -> Playlist:
        entries = conn.execute(
            select(playlist_entry_t.c.track_id)
            .where(playlist_entry_t.c.playlist_id == row.id)
            .order_by(playlist_entry_t.c.position)
        )
        return Playlist(
            row.id, row.owner, row.name, row.comment, row.public, row.created, row.changed, [e[0] for e in entries]
        )

    def create_playlist(
        self,
        owner: str,
        name: str,
        track_ids: Sequence[str],
        when: datetime,
        *,
        playlist_id: str | None = None,
        notify: bool = True,
    ) -> str:
        pid = playlist_id or uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(
                playlist_t.insert().values(
                    id=pid, owner=owner, name=name, comment="", public=False, created=when, changed=when
                )
            )
            self._write_entries(conn, pid, track_ids)
        if notify:
            self._playlist_changed(owner)
        return pid

    def replace_entries(
        self, playlist_id: str, track_ids: Sequence[str], when: datetime, *, notify: bool = True
    ) -> None:
        with self.engine.begin() as conn:
            self._write_entries(conn, playlist_id, track_ids)
            conn.execute(update(playlist_t).where(playlist_t.c.id == playlist_id).values(changed=when))
            owner = conn.execute(select(playlist_t.c.owner).where(playlist_t.c.id == playlist_id)).scalar()
        if notify and owner:
            self._playlist_changed(owner)

    def update_playlist(self, playlist_id: str, fields: dict[str, Any], when: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(playlist_t).where(playlist_t.c.id == playlist_id).values(**fields, changed=when))

    def delete_playlist(self, playlist_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(playlist_entry_t).where(playlist_entry_t.c.playlist_id == playlist_id))
            conn.execute(delete(playlist_t).where(playlist_t.c.id == playlist_id))

    def _write_entries(self, conn: Connection, playlist_id: str, track_ids: Sequence[str]) -> None:
        conn.execute(delete(playlist_entry_t).where(playlist_entry_t.c.playlist_id == playlist_id))
        if track_ids:
            conn.execute(
                playlist_entry_t.insert(),
                [{"playlist_id": playlist_id, "position": i, "track_id": t} for i, t in enumerate(track_ids)],
            )

    # play queue ---------------------------------------------------------------------------------------------------

    def play_queue(self, user: str) -> PlayQueue | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(play_queue_t).where(play_queue_t.c.username == user)).first()
        if row is None:
            return None
        return PlayQueue(
            row.current, row.position_ms, row.changed, row.changed_by, [t for t in row.entries.split(",") if t]
        )

    def save_play_queue(
        self, user: str, track_ids: Sequence[str], current: str | None, position_ms: int, client: str, when: datetime
    ) -> None:
        row = {
            "username": user,
            "current": current,
            "position_ms": position_ms,
            "changed": when,
            "changed_by": client,
            "entries": ",".join(track_ids),
        }
        with self.engine.begin() as conn:
            self._upsert(conn, play_queue_t, row, {k: v for k, v in row.items() if k != "username"})
