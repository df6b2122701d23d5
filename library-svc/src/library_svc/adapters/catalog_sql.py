"""The catalog's recount statements, built once: album, artist and genre counts follow the tracks they summarise."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update

from .schema import album_t, artist_t, track_t

__all__ = [
    "DROP_EMPTY_ALBUMS",
    "DROP_LONE_ARTISTS",
    "DROP_TRACKLESS_ALBUMS",
    "GENRE_ALBUMS",
    "GENRE_SONGS",
    "RECOUNT_ALBUMS",
    "RECOUNT_ARTISTS",
    "REFS_SQLITE",
]


def _recount_statements() -> tuple[Any, ...]:
    """Built once (construction cost more than running them): counts follow the tracks they summarise."""
    t2, a2 = track_t.alias("t2"), album_t.alias("a2")
    ids: Any = bindparam("ids", expanding=True)
    first = (
        select(t2.c.id)
        .where(t2.c.album_id == album_t.c.id)
        .order_by(t2.c.disc_no, t2.c.track_no, t2.c.sort_title)
        .limit(1)
        .scalar_subquery()
    )
    albums = (
        update(album_t)
        .where(album_t.c.id.in_(ids))
        .values(
            song_count=select(func.count()).where(t2.c.album_id == album_t.c.id).scalar_subquery(),
            duration=select(func.coalesce(func.sum(t2.c.duration), 0))
            .where(t2.c.album_id == album_t.c.id)
            .scalar_subquery(),
            cover_track_id=first,
        )
    )
    drop_albums = delete(album_t).where(album_t.c.id.in_(ids), album_t.c.song_count == 0)
    artists = (
        update(artist_t)
        .where(artist_t.c.id.in_(ids))
        .values(album_count=select(func.count()).where(a2.c.artist_id == artist_t.c.id).scalar_subquery())
    )
    orphan = ~select(t2.c.id).where(t2.c.artist_id == artist_t.c.id).exists()
    drop_artists = delete(artist_t).where(artist_t.c.id.in_(ids), artist_t.c.album_count == 0, orphan)
    genre_songs = select(func.count()).where(track_t.c.genre == bindparam("g"))
    genre_albums = select(func.count()).where(album_t.c.genre == bindparam("g"))
    trackless = ~select(t2.c.id).where(t2.c.album_id == album_t.c.id).exists()
    drop_trackless = delete(album_t).where(album_t.c.id.in_(ids), trackless)
    return albums, drop_albums, artists, drop_artists, genre_songs, genre_albums, drop_trackless


(
    RECOUNT_ALBUMS,
    DROP_EMPTY_ALBUMS,
    RECOUNT_ARTISTS,
    DROP_LONE_ARTISTS,
    GENRE_SONGS,
    GENRE_ALBUMS,
    DROP_TRACKLESS_ALBUMS,
) = _recount_statements()
REFS_SQLITE = text("SELECT album_id, artist_id, genre FROM track WHERE id IN (SELECT value FROM json_each(:ids))")
