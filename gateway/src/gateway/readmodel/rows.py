"""SQL rows of the gateway's read model: tracks with their timelines, runs, retrains and the live feed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

__all__ = ["CheckpointRow", "FeedHorizonRow", "FeedRow", "RetrainRow", "RunRow", "TimelineRow", "TrackRow"]


class CheckpointRow(SQLModel, table=True):
    """The last stream sequence applied, written in the same transaction as the rows it produced."""

    __tablename__ = "view_checkpoints"

    stream: str = Field(primary_key=True)
    seq: int = 0


class TrackRow(SQLModel, table=True):
    """One track's journey (one correlation id), from candidate or request to the library."""

    __tablename__ = "view_tracks"

    id: str = Field(primary_key=True)
    user: str | None = Field(default=None, index=True)
    origin: str | None = None
    state: str = Field(index=True)
    failure_reason: str | None = None
    recording_mbid: str | None = Field(default=None, index=True)
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    album_artist: str | None = None
    year: int | None = None
    cover_url: str | None = None
    library_track_id: str | None = Field(default=None, index=True)
    path: str | None = Field(default=None, index=True)
    request_id: str | None = None
    run_id: str | None = Field(default=None, index=True)
    gate_key: str | None = None
    """The request's `request_gate` key, released when the track leaves the library so it can be asked for again."""
    query_json: str | None = None
    """The original TrackQuery, so a retry can ask again."""
    retry_stage: str | None = None
    """While `retrying`: the stage whose attempt failed, the attempt, its limit and when the next one comes."""
    retry_attempt: int | None = None
    retry_limit: int | None = None
    retry_at: datetime | None = None
    last_error: str | None = None
    """The newest failed attempt's error, in words."""
    upstream: str | None = Field(default=None, index=True)
    """The external service behind the newest failure, when one was (`musicbrainz`)."""
    dead_letters: str | None = None
    """Ids of this journey's letters still in DEADLETTER, comma-separated; Retry re-drives them."""
    created_at: datetime
    updated_at: datetime = Field(index=True)


class TimelineRow(SQLModel, table=True):
    __tablename__ = "view_timeline"

    id: int | None = Field(default=None, primary_key=True)
    track_id: str = Field(index=True)
    stream: str
    seq: int
    subject: str
    stage: str
    at: datetime
    detail: str = ""


class RunRow(SQLModel, table=True):
    __tablename__ = "view_runs"

    run_id: str = Field(primary_key=True)
    user: str | None = Field(default=None, index=True)
    trigger: str = ""
    run_size: int = 0
    cf_ratio: float = 0.0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cf_count: int = 0
    radio_count: int = 0
    duplicates_skipped: int = 0
    cf_exhausted: bool = False
    candidates: int = 0
    outcome: str | None = None
    """None while running; `done`, `empty` (nothing new) or `failed`."""
    reason: str | None = None
    """Why a run is empty or failed, in words."""


class RetrainRow(SQLModel, table=True):
    __tablename__ = "view_retrains"

    id: int | None = Field(default=None, primary_key=True)
    user: str | None = Field(default=None, index=True)
    marker_kind: str
    old_marker: str | None = None
    new_marker: str
    old_offset: int = 0
    at: datetime


class FeedRow(SQLModel, table=True):
    """Every event seen, for the live feed and its Last-Event-ID resume."""

    __tablename__ = "view_feed"

    stream: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    subject: str
    user: str | None = Field(default=None, index=True)
    track_id: str | None = None
    at: datetime
    summary: str = ""


class FeedHorizonRow(SQLModel, table=True):
    """The newest sequence of each stream pruned from the feed: a Last-Event-ID below it has missed events."""

    __tablename__ = "view_feed_horizon"

    stream: str = Field(primary_key=True)
    seq: int = 0
