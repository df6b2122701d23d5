"""Core-level handles on the catalog tables, for queries that do not need ORM objects (fast paths)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from .tables import (
    AlbumPlayRow,
    AlbumRow,
    ArtistRow,
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
