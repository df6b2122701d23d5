"""The fold: how each of LIBRARY's `library.discovery.*` events changes the lifecycle's rows.

`DiscoveryStore.apply` runs it for the live service right after a decision is published, and for
`brainstream replay discoveries` over the whole stream, so both end with the same rows. The statuses a discovery
goes through are set here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update

from contracts.base import Message
from contracts.discovery import (
    DiscoveryAdded,
    DiscoveryExpired,
    DiscoveryHated,
    DiscoveryKept,
    DiscoveryPurged,
    DiscoveryRestored,
    DiscoveryRunsPaused,
    DiscoveryRunsResumed,
)

from ..adapters.schema import discovery_entry_t, discovery_flag_t, discovery_tombstone_t, discovery_track_t

__all__ = ["KEPT", "OPEN", "PURGED", "TRASHED", "apply_event", "utc"]

OPEN, KEPT, TRASHED, PURGED = "open", "kept", "trashed", "purged"


def utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def apply_event(conn: Connection, event: Message) -> None:
    """Change the rows as one event says (the live service and a replay both come here)."""
    at = event.occurred_at.astimezone(UTC)
    if isinstance(event, DiscoveryAdded):
        user = event.user or ""
        row = conn.execute(select(discovery_track_t).where(discovery_track_t.c.track_id == event.track_id)).first()
        values = {
            "recording_mbid": str(event.recording_mbid),
            "artist": event.artist,
            "title": event.title,
            "album": event.album,
            "path": event.path,
            "size": event.size_bytes,
        }
        if row is None:
            conn.execute(
                discovery_track_t.insert().values(
                    track_id=event.track_id,
                    status=OPEN,
                    epoch=str(event.event_id),
                    first_added=at,
                    last_added=at,
                    **values,
                )
            )
        elif row.status in (TRASHED, PURGED):  # a new life of a track that was expired before
            conn.execute(
                update(discovery_track_t)
                .where(discovery_track_t.c.track_id == event.track_id)
                .values(
                    status=OPEN,
                    epoch=str(event.event_id),
                    first_added=at,
                    last_added=at,
                    reason="",
                    detail="",
                    trash_path="",
                    purge_at=None,
                    **values,
                )
            )
        elif (utc(row.last_added) or at) < at:
            conn.execute(
                update(discovery_track_t).where(discovery_track_t.c.track_id == event.track_id).values(last_added=at)
            )
        exists = conn.execute(
            select(discovery_entry_t.c.position).where(
                discovery_entry_t.c.username == user,
                discovery_entry_t.c.week == event.week,
                discovery_entry_t.c.track_id == event.track_id,
            )
        ).first()
        if exists is None:
            conn.execute(
                discovery_entry_t.insert().values(
                    username=user,
                    week=event.week,
                    track_id=event.track_id,
                    position=event.position,
                    source=event.source.value,
                    added_at=at,
                )
            )
    elif isinstance(event, DiscoveryKept):
        _set(conn, event.track_id, status=KEPT, reason=event.reason.value, detail=event.detail)
    elif isinstance(event, DiscoveryHated):
        _tombstone(conn, event.user or "", str(event.recording_mbid), "hated", event.artist, event.track_id, at)
    elif isinstance(event, DiscoveryExpired):
        _set(
            conn,
            event.track_id,
            status=TRASHED,
            reason=event.reason.value,
            detail=event.detail,
            trash_path=event.trash_path,
            purge_at=event.purge_at.astimezone(UTC),
        )
        artist = conn.execute(
            select(discovery_track_t.c.artist).where(discovery_track_t.c.track_id == event.track_id)
        ).scalar()
        for user in event.users:
            mbid = str(event.recording_mbid)
            _tombstone(conn, user, mbid, event.reason.value, artist or "", event.track_id, at)
    elif isinstance(event, DiscoveryRestored):
        _set(conn, event.track_id, status=OPEN, trash_path="", purge_at=None, reason="", detail="")
        conn.execute(
            delete(discovery_tombstone_t).where(discovery_tombstone_t.c.recording_mbid == str(event.recording_mbid))
        )
    elif isinstance(event, DiscoveryPurged):
        _set(conn, event.track_id, status=PURGED)
    elif isinstance(event, DiscoveryRunsPaused):
        _flag(conn, "paused", event.reason)
        count = conn.execute(select(discovery_flag_t.c.value).where(discovery_flag_t.c.name == "pauses")).scalar()
        _flag(conn, "pauses", str(int(count or 0) + 1))
    elif isinstance(event, DiscoveryRunsResumed):
        conn.execute(delete(discovery_flag_t).where(discovery_flag_t.c.name == "paused"))


def _set(conn: Connection, track_id: str, **values: Any) -> None:
    conn.execute(update(discovery_track_t).where(discovery_track_t.c.track_id == track_id).values(**values))


def _flag(conn: Connection, name: str, value: str) -> None:
    conn.execute(delete(discovery_flag_t).where(discovery_flag_t.c.name == name))
    conn.execute(discovery_flag_t.insert().values(name=name, value=value))


def _tombstone(conn: Connection, user: str, mbid: str, reason: str, artist: str, track_id: str, at: datetime) -> None:
    key = and_(discovery_tombstone_t.c.username == user, discovery_tombstone_t.c.recording_mbid == mbid)
    conn.execute(delete(discovery_tombstone_t).where(key))
    conn.execute(
        discovery_tombstone_t.insert().values(
            username=user, recording_mbid=mbid, reason=reason, artist=artist, track_id=track_id, at=at
        )
    )
