"""A play as ingest-svc understands it, its identity, and how far back a poll reads.

A play's identity is (user, source, the source's own play identity). The source's identity always includes when the
play happened, so the same play reported twice (overlapping pages, a restart between publish and cursor save) has
one key, while a real repeat of the same track at another time has another.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "LISTEN_NAMESPACE",
    "Listen",
    "ListenCursor",
    "listen_event_id",
    "play_key",
    "poll_window_start",
]

LISTEN_NAMESPACE = uuid.UUID("6f1d7c7e-2b7a-4d55-9a3c-1f0b8e4b6c21")
"""uuid5 namespace of listen event ids: the same play always gets the same event id."""


@dataclass(frozen=True)
class Listen:
    """One play reported by a source, before it becomes a `ListenRecorded`."""

    source: str
    listened_at: datetime
    artist: str
    title: str
    play_identity: str
    """What makes this play unique within its source (its own id, or track id plus time)."""
    album: str | None = None
    duration_ms: int | None = None
    recording_mbid: uuid.UUID | None = None
    isrc: str | None = None
    source_ids: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def timestamp(self) -> int:
        return int(self.listened_at.timestamp())


def play_key(user: str, listen: Listen) -> str:
    """The `listen_gate` key of a play. KV keys allow few characters, so the source's identity is hashed."""
    digest = hashlib.sha256(listen.play_identity.encode()).hexdigest()[:40]
    return f"{user}.{listen.source}.{digest}"


def listen_event_id(key: str) -> uuid.UUID:
    """Deterministic event id of the `ListenRecorded` for a gate key, so the server's dedup drops a re-publish."""
    return uuid.uuid5(LISTEN_NAMESPACE, key)


@dataclass(frozen=True)
class ListenCursor:
    """Where a source's poll resumes: the newest play already durably published (unix seconds)."""

    newest_ts: int = 0
    polls: int = 0


def poll_window_start(cursor: ListenCursor | None, lookback_s: float, first_poll_from_ts: int) -> int:
    """The oldest timestamp a poll asks for: behind the cursor by the lookback, never before the first import."""
    if cursor is None or cursor.newest_ts <= 0:
        return max(0, first_poll_from_ts)
    return max(0, cursor.newest_ts - int(lookback_s))
