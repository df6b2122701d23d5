"""A track's catalog row built from its TrackInfo: names cleaned, ids, sort key and search words worked out.

Pure work, no database: the live import builds rows here just before writing them, and a replay builds them in
the process that reads the stream while the catalog's process writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from ..domain import ids
from ..domain.model import CONTENT_TYPES, TrackInfo

__all__ = ["ALBUM_COLS", "ARTIST_COLS", "TRACK_COLS", "PreparedTrack", "clean", "prepare", "prepare_values"]

ARTIST_COLS = ("id", "name", "sort_name", "mbid", "search")
ALBUM_COLS = (
    "id", "name", "sort_name", "artist_id", "artist", "artist_sort", "year", "genre", "created", "mbid", "search"
)  # fmt: skip
TRACK_COLS = (
    "id", "path", "dir", "title", "sort_title", "album_id", "album", "artist_id", "artist", "album_artist",
    "track_no", "disc_no", "year", "genre", "duration", "bitrate", "sample_rate", "channels", "size", "mtime_ns",
    "suffix", "content_type", "recording_mbid", "created", "search",
)  # fmt: skip
"""The order `_upsert` builds a track's row in (the table's, so the rows go to SQLite as they are)."""
_CONTROL = dict.fromkeys(range(32))


class PreparedTrack(NamedTuple):
    """A track's catalog row, built from its TrackInfo by `prepare` wherever that is cheapest (a replay builds them
    in the process that reads the stream), and what its artist's and album's rows take from it."""

    row: tuple[Any, ...]
    """The track table's row, in `TRACK_COLS` order."""
    album_artist_id: str
    album_artist_mbid: str | None
    release_mbid: str | None

    @property
    def path(self) -> str:
        return str(self.row[1])

    @property
    def album_id(self) -> str:
        return str(self.row[5])


def prepare(info: TrackInfo) -> PreparedTrack:
    """The row `SqlCatalog` writes for this track: names cleaned, ids, sort key and search words worked out."""
    audio = info.audio
    return prepare_values(
        info.path, info.size, info.mtime_ns, info.title, info.artist, info.album, info.album_artist, info.created,
        info.track_no, info.disc_no, info.year, info.genres, info.recording_mbid, info.release_mbid,
        info.album_artist_mbid, audio.duration_s, audio.bitrate_kbps, audio.sample_rate, audio.channels,
    )  # fmt: skip


def prepare_values(
    path: str,
    size: int,
    mtime_ns: int,
    title: str,
    artist: str,
    album: str,
    album_artist: str,
    created: datetime,
    track_no: int | None,
    disc_no: int | None,
    year: int | None,
    genres: Sequence[str],
    recording_mbid: str | None,
    release_mbid: str | None,
    album_artist_mbid: str | None,
    duration_s: float,
    bitrate_kbps: int,
    sample_rate: int,
    channels: int,
) -> PreparedTrack:
    """`prepare` from the values themselves: a replay has them from an import event's entry, and building a
    TrackInfo on the way cost a tenth of its decoding."""
    title, artist = clean(title), clean(artist)
    album, album_artist = clean(album), clean(album_artist)
    suffix = path.rpartition(".")[2].lower() if "." in path else ""
    row = (
        ids.track_id(path),
        path,
        path.rpartition("/")[0],
        title,
        ids.sort_key(title),
        ids.album_id(album_artist, album),
        album,
        ids.artist_id(artist),
        artist,
        album_artist,
        track_no,
        disc_no,
        year,
        clean(genres[0]) if genres else None,
        round(duration_s),
        bitrate_kbps,
        sample_rate,
        channels,
        size,
        mtime_ns,
        suffix,
        CONTENT_TYPES.get(suffix, "application/octet-stream"),
        recording_mbid,
        created,
        ids.search_text(title, artist, album),
    )
    return PreparedTrack(row, ids.artist_id(album_artist), album_artist_mbid, release_mbid)


@lru_cache(maxsize=1 << 16)  # artist, album and genre names repeat on every track of theirs
def clean(text: str) -> str:
    """Display text without control characters (PostgreSQL refuses NUL; clients choke on the rest)."""
    return text.translate(_CONTROL).strip() or "Unknown"
