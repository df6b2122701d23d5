"""The shape of `GET /api/insights` in the OpenAPI schema (the answer is validated against it)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from typing_extensions import TypedDict

__all__ = ["InsightsOut"]


class _Counted(BaseModel):
    plays: int
    listening_ms: int = Field(description="Sum of the plays' durations (a play without one counts 0)")


class ArtistOut(_Counted):
    artist: str


class TrackOut(_Counted):
    artist: str
    title: str


class AlbumOut(_Counted):
    artist: str
    album: str


class GenreOut(_Counted):
    genre: str = Field(description="A genre of the played recordings in the library (a play counts for each genre)")


class BucketOut(_Counted):
    start: str = Field(description="First local day of the bucket")


class PreviousOut(BaseModel):
    start: str
    end: str
    plays: int
    listening_ms: int
    change_pct: int | None = Field(description="Plays of the range against the previous period; null when it had none")
    buckets: list[BucketOut]


class TrendOut(BaseModel):
    unit: str = Field(description="day, week or month")
    buckets: list[BucketOut]
    previous: PreviousOut | None


class ClockOut(BaseModel):
    weekdays: list[str]
    plays: list[list[int]] = Field(description="plays[weekday, Monday first][local hour 0-23]")


class SourceOut(BaseModel):
    source: str
    plays: int


class ClientOut(BaseModel):
    client: str
    plays: int


class MonthOut(BaseModel):
    month: str
    new_artists: int


class DiscoveryOut(BaseModel):
    new_artists: int = Field(description="Artists whose first play ever is in the range")
    new_artist_plays: int
    new_artist_share: float = Field(description="Share of the range's plays that went to those artists, 0-1")
    new_artists_per_month: list[MonthOut]


class HitRow(BaseModel):
    source: str = Field(description="cf, radio, manual (or all)")
    label: str
    acquired: int = Field(description="Tracks imported in the range")
    played_7d: int
    played3_7d: int
    open_7d: int = Field(description="Tracks whose 7 days have not passed yet")
    played_30d: int
    played3_30d: int
    open_30d: int


class HitRateOut(BaseModel):
    by_source: list[HitRow]
    total: HitRow
    windows_days: list[int]


# "from" and "to" are Python keywords: these two are TypedDicts, so the schema names the keys as the JSON does
PreviousRange = TypedDict("PreviousRange", {"from": str, "to": str})
RangeOut = TypedDict(
    "RangeOut",
    {
        "kind": str,
        "key": str,
        "from": str,  # first instant, ISO 8601 with the zone's offset
        "to": str,  # first instant after the range (exclusive)
        "to_exclusive": bool,
        "previous": PreviousRange | None,  # the previous period's days (to exclusive)
    },
)


class TotalsOut(BaseModel):
    plays: int
    listening_ms: int
    artists: int


class SummaryOut(BaseModel):
    facts: dict[str, object]
    text: str = Field(description="The summary templated from the facts alone")


class InsightsOut(BaseModel):
    user: str
    timezone: str
    range: RangeOut
    totals: TotalsOut
    top_artists: list[ArtistOut]
    top_tracks: list[TrackOut]
    top_albums: list[AlbumOut]
    top_genres: list[GenreOut]
    trend: TrendOut
    clock: ClockOut
    sources: list[SourceOut]
    clients: list[ClientOut]
    discovery: DiscoveryOut
    exact_hours: bool
    hit_rate: HitRateOut
    summary: SummaryOut
