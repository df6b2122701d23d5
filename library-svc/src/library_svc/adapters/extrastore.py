"""Bookmarks (per user), internet radio stations (per server) and the external-info cache."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .extra_tables import bookmark_t, info_t, radio_t

__all__ = ["Bookmark", "ExtraStore", "Station"]


@dataclass(frozen=True)
class Bookmark:
    track_id: str
    position_ms: int
    comment: str
    created: datetime
    changed: datetime


@dataclass(frozen=True)
class Station:
    id: str
    name: str
    stream_url: str
    homepage_url: str | None


class ExtraStore:
    def __init__(self, engine: Engine, on_change: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self._changed = on_change or (lambda user: None)
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    # bookmarks ----------------------------------------------------------------------------------------------------

    def bookmarks(self, user: str) -> list[Bookmark]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(bookmark_t).where(bookmark_t.c.username == user).order_by(bookmark_t.c.changed.desc())
            ).all()
        return [Bookmark(r.track_id, r.position_ms, r.comment, r.created, r.changed) for r in rows]

    def save_bookmark(self, user: str, track_id: str, position_ms: int, comment: str, when: datetime) -> None:
        row = {
            "username": user,
            "track_id": track_id,
            "position_ms": position_ms,
            "comment": comment,
            "created": when,
            "changed": when,
        }
        keep = {"position_ms": position_ms, "comment": comment, "changed": when}
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(bookmark_t)
                .values(**row)
                .on_conflict_do_update(index_elements=["username", "track_id"], set_=keep)
            )
        self._changed(user)

    def delete_bookmark(self, user: str, track_id: str) -> bool:
        with self.engine.begin() as conn:
            gone = conn.execute(
                delete(bookmark_t).where(bookmark_t.c.username == user, bookmark_t.c.track_id == track_id)
            ).rowcount
        self._changed(user)
        return bool(gone)

    # internet radio -----------------------------------------------------------------------------------------------

    def stations(self) -> list[Station]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(radio_t).order_by(radio_t.c.name, radio_t.c.id)).all()
        return [Station(r.id, r.name, r.stream_url, r.homepage_url) for r in rows]

    def create_station(self, name: str, stream_url: str, homepage_url: str | None) -> str:
        sid = uuid.uuid4().hex
        with self.engine.begin() as conn:
            conn.execute(radio_t.insert().values(id=sid, name=name, stream_url=stream_url, homepage_url=homepage_url))
        return sid

    def update_station(self, sid: str, name: str, stream_url: str, homepage_url: str | None) -> bool:
        with self.engine.begin() as conn:
            found = conn.execute(
                update(radio_t)
                .where(radio_t.c.id == sid)
                .values(name=name, stream_url=stream_url, homepage_url=homepage_url)
            ).rowcount
        return bool(found)

    def delete_station(self, sid: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(radio_t).where(radio_t.c.id == sid)).rowcount)

    # external info ------------------------------------------------------------------------------------------------

    def info(self, key: str) -> tuple[datetime, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(info_t).where(info_t.c.key == key)).first()
        return (row.fetched_at, json.loads(row.body)) if row else None

    def save_info(self, key: str, body: Any, when: datetime) -> None:
        text = json.dumps(body)
        with self.engine.begin() as conn:
            conn.execute(
                self._insert(info_t)
                .values(key=key, fetched_at=when, body=text)
                .on_conflict_do_update(index_elements=["key"], set_={"fetched_at": when, "body": text})
            )
