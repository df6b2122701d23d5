"""Songs and albums that write their own XML straight from a catalog row, for the big lists (search3, getAlbum,
getAlbumList2).

The generic renderer builds a dict per item and then looks at every value's type; a song has ~35 attributes, so
a page of 100 songs is 3,500 such steps. Here one f-string per item writes the same bytes: the attribute order,
the omitted `None` values, the escaping and the child elements are exactly what `render` writes for the dict from
`shapes` (tests/test_fastxml.py compares both). JSON still goes through the dict.
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from ..adapters.schema import album_t, track_t
from .render import Lazy, escape
from .shapes import UserState, album_id3, rfc3339, song

__all__ = ["AlbumItem", "SongItem"]


def _columns(table: Any, names: str) -> Any:
    """The values of these columns from a row of `select(table)`, in one C-level call (rows hold the table's
    columns in its order)."""
    order = list(table.c.keys())
    return itemgetter(*[order.index(n) for n in names.split()])


_SONG = _columns(
    track_t,
    "id album_id artist_id title album artist track_no year genre size content_type suffix duration bitrate"
    " sample_rate channels path disc_no created recording_mbid sort_title album_artist",
)
_ALBUM = _columns(album_t, "id artist_id name artist song_count duration created year genre mbid sort_name")


def _user(item_id: str, state: UserState) -> tuple[int, str]:
    """(play count, the starred/userRating/played attributes) of one item."""
    extra = ""
    starred = state.starred.get(item_id)
    if starred is not None:
        extra = f' starred="{rfc3339(starred)}"'
    rating = state.rating.get(item_id)
    if rating is not None:
        extra += f' userRating="{rating}"'
    play = state.plays.get(item_id)
    if play is None:
        return 0, extra
    played = rfc3339(play[1])
    return play[0], extra if played is None else f'{extra} played="{played}"'


def _clean(text: str) -> bool:
    """Whether `escape` would leave this text as it is."""
    return text.isprintable() and not ("&" in text or "<" in text or ">" in text or '"' in text)


def _opt(name: str, value: Any) -> str:
    if value is None:
        return ""
    return f' {name}="{escape(value) if type(value) is str else value}"'


class SongItem(Lazy):
    """A song (Child) from a `track` row."""

    __slots__ = ("row", "state")

    def __init__(self, row: Any, state: UserState) -> None:
        self.row = row
        self.state = state

    def as_dict(self) -> dict[str, Any]:
        return song(self.row, self.state)

    def xml(self, name: str) -> str:
        (
            item_id, album_id, artist_id, title, album, artist, track_no, year, genre, size, content_type, suffix,
            duration, bitrate, sample_rate, channels, path, disc_no, created, mbid, sort_title, album_artist,
        ) = _SONG(self.row)  # fmt: skip
        st = self.state
        plays, user = (0, "") if st.empty else _user(item_id, st)
        texts = (item_id, album_id, artist_id, title, album, artist, genre or "", content_type, suffix, path)
        more = (mbid or "", sort_title, album_artist)
        if not _clean("".join(texts + more)):  # one check for all; each is escaped only when one needs it
            item_id, album_id, artist_id, title, album, artist, genre_text, content_type, suffix, path = map(
                escape, texts
            )
            mbid, sort_title, album_artist = map(escape, more)
        else:
            genre_text = texts[6]
            mbid = more[0]
        track = "" if track_no is None else f' track="{track_no}"'
        year_attr = "" if year is None else f' year="{year}"'
        genre_attr = "" if genre is None else f' genre="{genre_text}"'
        disc = "" if disc_no is None else f' discNumber="{disc_no}"'
        genres = f'<genres name="{genre_text}"/>' if genre else ""
        return (
            f'<{name} id="{item_id}" parent="{album_id}" isDir="false" title="{title}" album="{album}"'
            f' artist="{artist}"{track}{year_attr}{genre_attr}'
            f' coverArt="{album_id}" size="{size}" contentType="{content_type}" suffix="{suffix}"'
            f' duration="{duration}" bitRate="{bitrate}" samplingRate="{sample_rate}" channelCount="{channels}"'
            f' path="{path}" isVideo="false" playCount="{plays}"'
            f"{disc}{_opt('created', rfc3339(created))}"
            f' albumId="{album_id}" artistId="{artist_id}" type="music" mediaType="song"'
            f' musicBrainzId="{mbid}" sortName="{sort_title}" displayArtist="{artist}"'
            f' displayAlbumArtist="{album_artist}"{user}>{genres}'
            f'<artists id="{artist_id}" name="{artist}"/></{name}>'
        )


class AlbumItem(Lazy):
    """An album (AlbumID3) from an `album` row."""

    __slots__ = ("row", "state")

    def __init__(self, row: Any, state: UserState) -> None:
        self.row = row
        self.state = state

    def as_dict(self) -> dict[str, Any]:
        return album_id3(self.row, self.state)

    def xml(self, name: str) -> str:
        item_id, artist_id, title, artist, song_count, duration, created, year, genre, mbid, sort_name = _ALBUM(
            self.row
        )
        st = self.state
        plays, user = (0, "") if st.empty else _user(item_id, st)
        item_id, artist_id, artist = escape(item_id), escape(artist_id), escape(artist)
        children = f'<genres name="{escape(genre)}"/>' if genre else ""
        return (
            f'<{name} id="{item_id}" name="{escape(title)}" artist="{artist}" artistId="{artist_id}"'
            f' coverArt="{item_id}" songCount="{song_count}" duration="{duration}" playCount="{plays}"'
            f"{_opt('created', rfc3339(created))}{_opt('year', year)}{_opt('genre', genre)}"
            f' musicBrainzId="{escape(mbid or "")}" sortName="{escape(sort_name)}" displayArtist="{artist}"'
            f' isCompilation="false"{user}>{children}<artists id="{artist_id}" name="{artist}"/></{name}>'
        )
