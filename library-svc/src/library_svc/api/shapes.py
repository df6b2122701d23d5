"""HTTP schema of the Subsonic API: catalog rows → the dicts the renderer writes (song, album, artist)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from ..domain.usermarks import UserState

__all__ = ["UserState", "album_child", "album_id3", "apply_state", "artist_id3", "rfc3339", "song"]


def rfc3339(value: datetime | str | None) -> str | None:
    """RFC 3339 in UTC with Z. A string is SQLite's stored UTC text, `YYYY-MM-DD HH:MM:SS[.ffffff]`."""
    if value is None:
        return None
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:19]}Z"
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # what isoformat(timespec="seconds") writes, with Z for +00:00, at half its cost (every song has a date)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (  # noqa: UP031
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def apply_state(state: UserState, item_id: str, out: dict[str, Any]) -> dict[str, Any]:
    """The user's star, rating and plays of one item, in Subsonic's fields."""
    out["starred"] = rfc3339(state.starred.get(item_id))
    out["userRating"] = state.rating.get(item_id)
    play = state.plays.get(item_id)
    if play is not None:
        out["playCount"] = play[0]
        out["played"] = rfc3339(play[1])
    return out


def song(r: Row[Any], state: UserState) -> dict[str, Any]:
    m = r._mapping
    out: dict[str, Any] = {
        "id": m["id"],
        "parent": m["album_id"],
        "isDir": False,
        "title": m["title"],
        "album": m["album"],
        "artist": m["artist"],
        "track": m["track_no"],
        "year": m["year"],
        "genre": m["genre"],
        "coverArt": m["album_id"],
        "size": m["size"],
        "contentType": m["content_type"],
        "suffix": m["suffix"],
        "duration": m["duration"],
        "bitRate": m["bitrate"],
        "samplingRate": m["sample_rate"],
        "channelCount": m["channels"],
        "path": m["path"],
        "isVideo": False,
        "playCount": 0,
        "discNumber": m["disc_no"],
        "created": rfc3339(m["created"]),
        "albumId": m["album_id"],
        "artistId": m["artist_id"],
        "type": "music",
        "mediaType": "song",
        "musicBrainzId": m["recording_mbid"] or "",
        "sortName": m["sort_title"],
        "displayArtist": m["artist"],
        "displayAlbumArtist": m["album_artist"],
        "genres": [{"name": m["genre"]}] if m["genre"] else [],
        "artists": [{"id": m["artist_id"], "name": m["artist"]}],
    }
    return apply_state(state, m["id"], out)


def album_id3(r: Row[Any], state: UserState) -> dict[str, Any]:
    m = r._mapping
    out: dict[str, Any] = {
        "id": m["id"],
        "name": m["name"],
        "artist": m["artist"],
        "artistId": m["artist_id"],
        "coverArt": m["id"],
        "songCount": m["song_count"],
        "duration": m["duration"],
        "playCount": 0,
        "created": rfc3339(m["created"]),
        "year": m["year"],
        "genre": m["genre"],
        "musicBrainzId": m["mbid"] or "",
        "sortName": m["sort_name"],
        "displayArtist": m["artist"],
        "isCompilation": False,
        "genres": [{"name": m["genre"]}] if m["genre"] else [],
        "artists": [{"id": m["artist_id"], "name": m["artist"]}],
    }
    return apply_state(state, m["id"], out)


def album_child(r: Row[Any], state: UserState) -> dict[str, Any]:
    """An album as a directory entry (getAlbumList, search2, getMusicDirectory of an artist)."""
    m = r._mapping
    out: dict[str, Any] = {
        "id": m["id"],
        "parent": m["artist_id"],
        "isDir": True,
        "title": m["name"],
        "name": m["name"],
        "album": m["name"],
        "artist": m["artist"],
        "year": m["year"],
        "genre": m["genre"],
        "coverArt": m["id"],
        "duration": m["duration"],
        "songCount": m["song_count"],
        "playCount": 0,
        "created": rfc3339(m["created"]),
        "albumId": m["id"],
        "artistId": m["artist_id"],
    }
    return apply_state(state, m["id"], out)


def artist_id3(r: Row[Any], state: UserState) -> dict[str, Any]:
    m = r._mapping
    out: dict[str, Any] = {
        "id": m["id"],
        "name": m["name"],
        "coverArt": m["id"],
        "albumCount": m["album_count"],
        "musicBrainzId": m["mbid"] or "",
        "sortName": m["sort_name"],
    }
    return apply_state(state, m["id"], out)
