"""SQL rows of the catalog (sqlmodel). Every index serves a Subsonic query; tests/test_query_plans.py checks them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

__all__ = [
    "AlbumPlayRow",
    "AlbumRow",
    "ArtistRow",
    "DiscoveryEntryRow",
    "DiscoveryFlagRow",
    "DiscoveryPlayRow",
    "DiscoveryTombstoneRow",
    "DiscoveryTrackRow",
    "GenreRow",
    "PlayQueueRow",
    "PlayRow",
    "PlaylistEntryRow",
    "PlaylistRow",
    "ProjectionRow",
    "RatingRow",
    "StarRow",
    "TrackRow",
]


class ArtistRow(SQLModel, table=True):
    __tablename__ = "artist"
    __table_args__ = (Index("ix_artist_sort", "sort_name", "id"),)
    id: str = Field(primary_key=True, max_length=32)
    name: str
    sort_name: str
    mbid: str | None = None
    album_count: int = 0
    search: str = ""


class AlbumRow(SQLModel, table=True):
    __tablename__ = "album"
    __table_args__ = (
        Index("ix_album_sort", "sort_name", "id"),
        Index("ix_album_artist_sort", "artist_sort", "sort_name"),
        Index("ix_album_artist_year", "artist_id", "year"),
        Index("ix_album_created", "created", "id"),
        Index("ix_album_year", "year", "sort_name"),
        Index("ix_album_genre", "genre", "sort_name"),
    )
    id: str = Field(primary_key=True, max_length=32)
    name: str
    sort_name: str
    artist_id: str
    artist: str
    artist_sort: str
    year: int | None = None
    genre: str | None = None
    song_count: int = 0
    duration: int = 0
    created: datetime
    mbid: str | None = None
    cover_track_id: str | None = None
    search: str = ""


class TrackRow(SQLModel, table=True):
    __tablename__ = "track"
    __table_args__ = (
        Index("ix_track_path", "path", unique=True),
        Index("ix_track_album", "album_id", "disc_no", "track_no"),
        Index("ix_track_artist", "artist_id"),
        Index("ix_track_recording", "recording_mbid"),
        Index("ix_track_genre", "genre", "sort_title"),
        Index("ix_track_sort", "sort_title", "id"),
    )
    id: str = Field(primary_key=True, max_length=32)
    path: str
    dir: str
    title: str
    sort_title: str
    album_id: str
    album: str
    artist_id: str
    artist: str
    album_artist: str
    track_no: int | None = None
    disc_no: int | None = None
    year: int | None = None
    genre: str | None = None
    duration: int = 0
    bitrate: int = 0
    sample_rate: int = 0
    channels: int = 0
    size: int = Field(default=0, sa_type=BigInteger)
    mtime_ns: int = Field(default=0, sa_type=BigInteger)
    suffix: str = ""
    content_type: str = ""
    recording_mbid: str | None = None
    created: datetime
    search: str = ""


class GenreRow(SQLModel, table=True):
    __tablename__ = "genre"
    name: str = Field(primary_key=True)
    song_count: int = 0
    album_count: int = 0


class StarRow(SQLModel, table=True):
    __tablename__ = "star"
    __table_args__ = (Index("ix_star_user_kind", "username", "kind", "starred_at"),)
    username: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    kind: str  # "song", "album" or "artist"
    starred_at: datetime


class RatingRow(SQLModel, table=True):
    __tablename__ = "rating"
    __table_args__ = (Index("ix_rating_user_rating", "username", "rating", "item_id"),)
    username: str = Field(primary_key=True)
    item_id: str = Field(primary_key=True)
    rating: int


class PlayRow(SQLModel, table=True):
    __tablename__ = "play"
    username: str = Field(primary_key=True)
    track_id: str = Field(primary_key=True)
    count: int = 0
    last_played: datetime


class AlbumPlayRow(SQLModel, table=True):
    __tablename__ = "album_play"
    __table_args__ = (
        Index("ix_album_play_count", "username", "count"),
        Index("ix_album_play_last", "username", "last_played"),
    )
    username: str = Field(primary_key=True)
    album_id: str = Field(primary_key=True)
    count: int = 0
    last_played: datetime


class PlaylistRow(SQLModel, table=True):
    __tablename__ = "playlist"
    __table_args__ = (
        Index("ix_playlist_owner", "owner", "name", "id"),
        Index("ix_playlist_public", "public", "name", "id"),
    )
    id: str = Field(primary_key=True, max_length=32)
    owner: str
    name: str
    comment: str = ""
    public: bool = False
    created: datetime
    changed: datetime


class PlaylistEntryRow(SQLModel, table=True):
    __tablename__ = "playlist_entry"
    playlist_id: str = Field(primary_key=True)
    position: int = Field(primary_key=True)
    track_id: str


class PlayQueueRow(SQLModel, table=True):
    __tablename__ = "play_queue"
    username: str = Field(primary_key=True)
    current: str | None = None
    position_ms: int = 0
    changed: datetime
    changed_by: str = ""
    entries: str = ""  # track ids, comma-separated, in order


class ProjectionRow(SQLModel, table=True):
    """The stream sequence a projection has applied, written in the same transaction as its rows."""

    __tablename__ = "projection"
    name: str = Field(primary_key=True)
    position: int = 0


# the discovery lifecycle (library_svc.discovery) ------------------------------------------------------------------


class DiscoveryTrackRow(SQLModel, table=True):
    """A track that entered the library as a discovery, and where it stands: open, kept, trashed or purged."""

    __tablename__ = "discovery_track"
    __table_args__ = (Index("ix_discovery_track_status", "status", "first_added"),)
    track_id: str = Field(primary_key=True, max_length=32)
    recording_mbid: str
    status: str  # open, kept, trashed, purged
    epoch: str  # event id of the addition that opened this life of the track (ids of later decisions derive from it)
    artist: str = ""
    title: str = ""
    album: str | None = None
    path: str
    size: int = Field(default=0, sa_type=BigInteger)
    first_added: datetime
    last_added: datetime
    reason: str = ""  # why it was kept or expired
    detail: str = ""
    trash_path: str = ""
    purge_at: datetime | None = None


class DiscoveryEntryRow(SQLModel, table=True):
    """One place in one user's weekly discovery playlist."""

    __tablename__ = "discovery_entry"
    __table_args__ = (Index("ix_discovery_entry_track", "track_id"),)
    username: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    track_id: str = Field(primary_key=True, max_length=32)
    position: int = 0
    source: str = ""
    added_at: datetime


class DiscoveryTombstoneRow(SQLModel, table=True):
    """A recording never to offer this user again (mirrored to the KV bucket `discovery_gate`)."""

    __tablename__ = "discovery_tombstone"
    username: str = Field(primary_key=True)
    recording_mbid: str = Field(primary_key=True)
    reason: str
    artist: str = ""
    track_id: str = ""
    at: datetime


class DiscoveryFlagRow(SQLModel, table=True):
    """Named facts of the lifecycle: `paused` (value: the reason) while the disk budget stops runs."""

    __tablename__ = "discovery_flag"
    name: str = Field(primary_key=True)
    value: str = ""


class DiscoveryPlayRow(SQLModel, table=True):
    """A play of a user, joined with the recording it was (from the play itself or resolve-svc's match). Input of
    the keep rule, not a projection of LIBRARY: a replay leaves it as it is."""

    __tablename__ = "discovery_play"
    __table_args__ = (Index("ix_discovery_play_recording", "recording_mbid", "username"),)
    listen_id: str = Field(primary_key=True, max_length=36)
    username: str | None = None
    source: str = ""
    started_at: datetime | None = None
    duration_ms: int | None = None
    recording_mbid: str | None = None
