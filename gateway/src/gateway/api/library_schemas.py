"""HTTP shapes of the library browser (`/api/library/…`), apart from the Subsonic answers they are read from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "LibraryAlbumDetailOut",
    "LibraryAlbumOut",
    "LibraryAlbumPageOut",
    "LibraryAlbumsOfArtistOut",
    "LibraryArtistOut",
    "LibraryArtistPageOut",
    "LibraryErrorOut",
    "LibraryGenreOut",
    "LibraryRatingIn",
    "LibraryScrobbleIn",
    "LibrarySearchOut",
    "LibraryStarIn",
    "LibraryTotalsOut",
    "LibraryTrackOut",
    "LibraryTrackPageOut",
    "PipelineLinkOut",
    "Source",
]

Source = Literal["library-svc", "navidrome"]


class LibraryErrorOut(BaseModel):
    detail: str = Field(description="Readable; names the server that failed, never its address.")
    status_code: int


class PipelineLinkOut(BaseModel):
    """The journey that brought a library track in, when the asking user may see it."""

    track_id: str = Field(description="The journey's id in /api/tracks.")
    url: str = Field(description="Its page in the web UI.")
    user: str | None = Field(description="Who asked for it; null for the recommendation runs' own journeys.")


class LibraryArtistOut(BaseModel):
    id: str
    name: str
    album_count: int | None
    cover_url: str = Field(description="Through the gateway; a placeholder image when the library has none.")


class LibraryAlbumOut(BaseModel):
    id: str
    name: str
    artist: str | None
    artist_id: str | None
    year: int | None
    song_count: int | None
    duration_s: int | None
    genre: str | None
    cover_url: str
    starred: bool = Field(default=False, description="Starred by the asking user (as their Subsonic clients see).")
    rating: int | None = Field(default=None, description="The asking user's rating, 1 to 5.")
    play_count: int | None = Field(default=None, description="Plays by the asking user, where the server counts.")


class LibraryTrackOut(BaseModel):
    id: str
    title: str
    artist: str | None
    artist_id: str | None
    album: str | None
    album_id: str | None
    track_number: int | None
    disc_number: int | None
    year: int | None
    duration_s: int | None
    suffix: str | None
    path: str | None
    recording_mbid: str | None
    cover_url: str
    pipeline: PipelineLinkOut | None = Field(description="Set when the pipeline brought this track in.")
    starred: bool = False
    rating: int | None = None
    stream_url: str = Field(default="", description="Plays in a browser: the gateway relays the library's `stream`.")


class LibraryArtistPageOut(BaseModel):
    source: Source
    items: list[LibraryArtistOut]
    total: int
    offset: int
    limit: int


class LibraryAlbumPageOut(BaseModel):
    source: Source
    items: list[LibraryAlbumOut]
    offset: int
    limit: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")


class LibraryAlbumsOfArtistOut(BaseModel):
    source: Source
    artist: LibraryArtistOut
    albums: list[LibraryAlbumOut]


class LibraryAlbumDetailOut(LibraryAlbumOut):
    source: Source
    tracks: list[LibraryTrackOut]


class LibraryTrackPageOut(BaseModel):
    source: Source
    items: list[LibraryTrackOut]
    offset: int
    limit: int
    next_offset: int | None


class LibrarySearchOut(BaseModel):
    source: Source
    query: str
    artists: list[LibraryArtistOut]
    albums: list[LibraryAlbumOut]
    tracks: list[LibraryTrackOut]


class LibraryGenreOut(BaseModel):
    name: str
    album_count: int
    song_count: int


class LibraryTotalsOut(BaseModel):
    source: Source
    artists: int
    albums: int
    tracks: int | None = Field(description="Null when the server does not say.")
    genres: list[LibraryGenreOut]


class LibraryStarIn(BaseModel):
    starred: bool


class LibraryRatingIn(BaseModel):
    rating: int = Field(ge=0, le=5, description="1 to 5; 0 clears the rating.")


class LibraryScrobbleIn(BaseModel):
    submission: bool = Field(
        default=True, description="True: the song was played (a listen); false: it is playing now."
    )
