"""Core-level handles on the catalog tables, for queries that do not need ORM objects (fast paths)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from .tables import (
    AlbumPlayRow,
    AlbumRow,
    ArtistRow,
    DiscoveryEntryRow,
    DiscoveryFlagRow,
    DiscoveryPlayRow,
    DiscoveryTombstoneRow,
    DiscoveryTrackRow,
    GenreRow,
    PlaylistEntryRow,
    PlaylistRow,
    PlayQueueRow,
    PlayRow,
    ProjectionRow,
    RatingRow,
    StarRow,
    TrackRow,
)

__all__ = [
    "album_play_t",
    "album_t",
    "artist_t",
    "discovery_entry_t",
    "discovery_flag_t",
    "discovery_play_t",
    "discovery_tombstone_t",
    "discovery_track_t",
    "genre_t",
    "play_queue_t",
    "play_t",
    "playlist_entry_t",
    "playlist_t",
    "projection_t",
    "rating_t",
    "star_t",
    "track_t",
]


def _t(model: object) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


artist_t = _t(ArtistRow)
album_t = _t(AlbumRow)
track_t = _t(TrackRow)
genre_t = _t(GenreRow)
star_t = _t(StarRow)
rating_t = _t(RatingRow)
play_t = _t(PlayRow)
album_play_t = _t(AlbumPlayRow)
playlist_t = _t(PlaylistRow)
playlist_entry_t = _t(PlaylistEntryRow)
play_queue_t = _t(PlayQueueRow)
projection_t = _t(ProjectionRow)
discovery_track_t = _t(DiscoveryTrackRow)
discovery_entry_t = _t(DiscoveryEntryRow)
discovery_tombstone_t = _t(DiscoveryTombstoneRow)
discovery_flag_t = _t(DiscoveryFlagRow)
discovery_play_t = _t(DiscoveryPlayRow)
