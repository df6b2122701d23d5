"""Value types shared by several contexts: who made a recording, what a track is called, why something failed."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from .base import Model

__all__ = [
    "AlbumSource",
    "ArtistCredit",
    "CandidateSource",
    "CoverRef",
    "CoverSource",
    "ListenSource",
    "MatchExplanation",
    "MatchMethod",
    "Penalty",
    "TrackMetadata",
    "TrackQuery",
]


class CandidateSource(StrEnum):
    CF = "cf"
    """ListenBrainz collaborative-filtering recommendations."""
    RADIO = "radio"
    """ListenBrainz LB Radio, seeded from the user's top artists."""
    MANUAL = "manual"
    """A person asked for it through the gateway."""
    PLAYLISTS = "playlists"
    """ListenBrainz playlists generated for the user (Weekly Exploration, Weekly Jams: `createdfor`)."""


class ListenSource(StrEnum):
    LISTENBRAINZ = "listenbrainz"
    LASTFM = "lastfm"
    SPOTIFY = "spotify"
    SUBSONIC = "subsonic"
    SONOS = "sonos"
    """A Sonos speaker's play, seen by polling it; `source_ids` carry room, service and track URI."""


class AlbumSource(StrEnum):
    """Which link of the album chain iTunes → Deezer → MusicBrainz → "Unknown Album" named the album."""

    ITUNES = "itunes"
    DEEZER = "deezer"
    MUSICBRAINZ = "musicbrainz"
    UNKNOWN = "unknown"


class CoverSource(StrEnum):
    ITUNES = "itunes"
    DEEZER = "deezer"
    COVERARTARCHIVE = "coverartarchive"


class MatchMethod(StrEnum):
    MBID = "mbid"
    ISRC = "isrc"
    FUZZY = "fuzzy"


class ArtistCredit(Model):
    """One artist of a (possibly multi-artist) credit, MusicBrainz style: "A feat. B" is [A, " feat. "], [B, ""]."""

    name: str
    join_phrase: str = ""
    mbid: UUID | None = None


class TrackQuery(Model):
    """What is known about a wanted track before resolution: an MBID, raw text, or both."""

    recording_mbid: UUID | None = None
    isrc: str | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    duration_ms: int | None = Field(default=None, ge=0)


class Penalty(Model):
    """One named part of a match distance, already weighted; larger is worse."""

    name: str
    value: float = Field(ge=0)
    detail: str = ""


class MatchExplanation(Model):
    method: MatchMethod
    distance: float = Field(ge=0, description="Weighted distance, 0 is a perfect match.")
    penalties: list[Penalty] = Field(default_factory=list, description="Largest first.")
    candidate_count: int = Field(default=0, ge=0)
    notes: list[str] = Field(
        default_factory=list,
        description="How the album and cover were chosen: sources tried, skipped (budget spent) or rejected, and why.",
    )


class CoverRef(Model):
    url: str
    source: CoverSource
    width: int | None = None
    height: int | None = None


class TrackMetadata(Model):
    """Everything tagging and the library need about one normalized track."""

    recording_mbid: UUID
    title: str
    artist: str = Field(description="The full credit as displayed, joined with its join phrases.")
    artist_credit: list[ArtistCredit] = Field(default_factory=list)
    album_artist: str
    album: str
    album_source: AlbumSource
    release_group_mbid: UUID | None = None
    release_mbid: UUID | None = None
    album_artist_mbids: list[UUID] = Field(default_factory=list)
    track_number: int | None = Field(default=None, ge=0)
    track_total: int | None = Field(default=None, ge=0)
    disc_number: int | None = Field(default=None, ge=0)
    disc_total: int | None = Field(default=None, ge=0)
    year: int | None = None
    original_date: str | None = Field(default=None, description="YYYY, YYYY-MM or YYYY-MM-DD.")
    isrcs: list[str] = Field(default_factory=list)
    duration_ms: int | None = Field(default=None, ge=0)
    genres: list[str] = Field(default_factory=list)
    cover: CoverRef | None = None
