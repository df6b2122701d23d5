"""SQL rows of the Discoveries read model (in the gateway's database, replaced by `brainstream replay gateway`).

Every fact is kept with the time and stream sequence of the event that said it, and a later fact never loses to an
earlier one that arrives after it: the consumers apply events in no fixed order (several workers, five streams), so
the state of a track is derived when it is read, from the newest of its facts.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

__all__ = ["DiscoveryFeedbackRow", "DiscoveryPauseRow", "DiscoveryPickRow", "DiscoveryTrackRow", "NavidromeSongRow"]


class DiscoveryPickRow(SQLModel, table=True):
    """A track in one user's discovery week (`DiscoveryAdded`): the same track may be in two weeks."""

    __tablename__ = "view_discovery_picks"

    user: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    track_id: str = Field(primary_key=True, index=True)
    recording_mbid: str = Field(index=True)
    source: str
    position: int = 0
    artist: str = ""
    title: str = ""
    album: str | None = None
    path: str = ""
    size_bytes: int = 0
    added_at: datetime
    expires_at: datetime | None = None
    seq: int = 0


class DiscoveryTrackRow(SQLModel, table=True):
    """What became of a discovered track (shared by every user who had it): the newest fact of each kind."""

    __tablename__ = "view_discovery_tracks"

    track_id: str = Field(primary_key=True)
    recording_mbid: str | None = None
    kept_at: datetime | None = None
    kept_seq: int = 0
    kept_reason: str | None = None
    kept_detail: str = ""
    kept_by: str | None = None
    expired_at: datetime | None = None
    expired_seq: int = 0
    expired_reason: str | None = None
    expired_detail: str = ""
    purge_at: datetime | None = None
    trash_path: str | None = None
    restored_at: datetime | None = None
    restored_seq: int = 0
    purged_at: datetime | None = None
    purged_seq: int = 0
    hated_by: str | None = None
    """Users who hated it, comma-separated."""


class DiscoveryFeedbackRow(SQLModel, table=True):
    """Feedback sent to or read back from ListenBrainz, and candidates a run left out: one row per event."""

    __tablename__ = "view_discovery_feedback"

    stream: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    user: str | None = Field(default=None, index=True)
    kind: str
    """`sent`, `received` or `excluded`."""
    recording_mbid: str = Field(index=True)
    score: int | None = None
    cause: str = ""
    artist: str | None = None
    at: datetime


class DiscoveryPauseRow(SQLModel, table=True):
    """Whether runs wait for the disk budget: the newest of `DiscoveryRunsPaused` / `DiscoveryRunsResumed`."""

    __tablename__ = "view_discovery_pause"

    key: str = Field(primary_key=True, default="runs")
    paused: bool = False
    reason: str = ""
    used_bytes: int = 0
    budget_bytes: int = 0
    at: datetime
    seq: int = 0


class NavidromeSongRow(SQLModel, table=True):
    """Which Navidrome song a library track is, once Navidrome has scanned it (not a projection: a cache of the
    mirror, kept across replays)."""

    __tablename__ = "discovery_navidrome_songs"

    track_id: str = Field(primary_key=True)
    song_id: str
    found_at: datetime
