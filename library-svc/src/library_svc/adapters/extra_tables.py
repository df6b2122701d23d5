"""SQL rows of the per-user and per-server extras: bookmarks, internet radio stations, the external-info cache."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Table, Text
from sqlmodel import Field, SQLModel

__all__ = ["EXTRA_INDEXES", "BookmarkRow", "InfoRow", "RadioStationRow", "bookmark_t", "info_t", "radio_t"]


class BookmarkRow(SQLModel, table=True):
    __tablename__ = "bookmark"
    __table_args__ = (Index("ix_bookmark_user_changed", "username", "changed"),)
    username: str = Field(primary_key=True)
    track_id: str = Field(primary_key=True)
    position_ms: int = 0
    comment: str = ""
    created: datetime
    changed: datetime


class RadioStationRow(SQLModel, table=True):
    __tablename__ = "radio_station"
    __table_args__ = (Index("ix_radio_name", "name", "id"),)
    id: str = Field(primary_key=True, max_length=32)
    name: str
    stream_url: str
    homepage_url: str | None = None


class InfoRow(SQLModel, table=True):
    """One answer of an external source (MusicBrainz, ListenBrainz), reduced to what the API serves, as JSON."""

    __tablename__ = "info_cache"
    key: str = Field(primary_key=True)
    fetched_at: datetime
    body: str = Field(sa_type=Text)


def _t(model: object) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


bookmark_t = _t(BookmarkRow)
radio_t = _t(RadioStationRow)
info_t = _t(InfoRow)


EXTRA_INDEXES = ("CREATE INDEX IF NOT EXISTS ix_artist_mbid ON artist (mbid)",)
"""Indexes on tables that existed before (create_all adds tables, not indexes on tables it finds), made at start
when missing (SQLite and PostgreSQL both know IF NOT EXISTS). The artist MBID one serves getArtistInfo's similar
artists."""
