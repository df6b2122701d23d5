"""HTTP shapes of the REST API (apart from SQL rows and wire contracts)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from contracts.livesettings import PipelineSettings, StreamDefault

__all__ = [
    "AccountsIn",
    "CountsOut",
    "LoginIn",
    "MeOut",
    "PipelineSettingsIn",
    "PipelineSettingsOut",
    "RecommendationsOut",
    "RemovalOut",
    "RequestIn",
    "RequestOut",
    "RetrainOut",
    "RetryIn",
    "RunOut",
    "SetupIn",
    "StartRunIn",
    "SubsonicPasswordOut",
    "TimelineEntryOut",
    "TokenIn",
    "TokenOut",
    "TrackOut",
    "TrackPageOut",
    "UserIn",
    "UserOut",
    "UserPatchIn",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SetupIn(LoginIn):
    pass


class MeOut(BaseModel):
    username: str
    is_admin: bool
    csrf_token: str | None = Field(default=None, description="Send it as X-CSRF-Token on POST/PUT/PATCH/DELETE.")


class SubsonicPasswordOut(BaseModel):
    username: str
    password: str


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    token: str | None = Field(default=None, description="Only in the answer that created it.")


class AccountsIn(_In):
    listenbrainz_user: str | None = Field(default=None, max_length=200)
    listenbrainz_token: str | None = Field(default=None, max_length=200)
    lastfm_user: str | None = Field(default=None, max_length=200)
    spotify_client_id: str | None = Field(default=None, max_length=200)
    spotify_client_secret: str | None = Field(default=None, max_length=200)
    spotify_refresh_token: str | None = Field(default=None, max_length=1000)


class UserIn(_In):
    username: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False
    accounts: AccountsIn | None = None


class UserPatchIn(_In):
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    is_admin: bool | None = None
    enabled: bool | None = None


class UserOut(BaseModel):
    username: str
    is_admin: bool
    enabled: bool
    created_at: datetime
    listenbrainz_user: str | None = None
    lastfm_user: str | None = None
    spotify_client_id: str | None = None
    has_listenbrainz_token: bool = False
    has_spotify_secret: bool = False


class PipelineSettingsIn(_In):
    run_interval_s: float | None = Field(default=None, gt=0, le=30 * 86400)
    cf_ratio: float | None = Field(default=None, ge=0, le=1)
    run_size: int | None = Field(default=None, ge=1, le=1000)
    acquire_backends: list[str] | None = Field(default=None, max_length=20)
    path_template: str | None = Field(default=None, min_length=1, max_length=500)
    tag_album_mbid: bool | None = None
    navidrome_url: str | None = Field(default=None, max_length=500, pattern=r"^(https?://\S+)?$")
    navidrome_user: str | None = Field(default=None, max_length=200)
    navidrome_password: str | None = Field(default=None, max_length=500, description="Write-only; empty clears it.")
    stream_defaults: list[StreamDefault] | None = Field(default=None, max_length=200)


class PipelineSettingsOut(PipelineSettings):
    """The live settings as shown: the Navidrome password never leaves the gateway, only whether one is set."""

    navidrome_password_sealed: SkipJsonSchema[None] = Field(default=None, exclude=True)
    navidrome_password_set: bool = False

    @classmethod
    def of(cls, settings: PipelineSettings) -> PipelineSettingsOut:
        shown = settings.model_dump(exclude={"navidrome_password_sealed"})
        return cls(**shown, navidrome_password_set=bool(settings.navidrome_password_sealed))


class RequestIn(_In):
    recording_mbid: UUID | None = None
    artist: str | None = Field(default=None, max_length=500)
    title: str | None = Field(default=None, max_length=500)
    album: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")


class RequestOut(BaseModel):
    request_id: UUID
    track_id: str = Field(description="The journey's id in /api/tracks (its correlation id).")
    user: str | None
    recording_mbid: UUID | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    url: str | None = None
    requested_at: datetime


class RetryIn(_In):
    rematch_mbid: UUID | None = Field(default=None, description="Pin the retry to this recording MBID.")


class TimelineEntryOut(BaseModel):
    stage: str
    subject: str
    at: datetime
    detail: str
    stream: str
    seq: int


class TrackOut(BaseModel):
    id: str
    user: str | None
    origin: str | None
    state: str
    failure_reason: str | None
    recording_mbid: str | None
    artist: str | None
    title: str | None
    album: str | None
    album_artist: str | None
    year: int | None
    cover_url: str | None
    library_track_id: str | None
    path: str | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntryOut]


class TrackPageOut(BaseModel):
    items: list[TrackOut]
    total: int
    page: int
    pages: int


class RemovalOut(BaseModel):
    track_id: str
    library_track_id: str


class CountsOut(BaseModel):
    counts: dict[str, int]


class StartRunIn(_In):
    user: str | None = Field(default=None, description="Administrators may start a run for another user.")


class RunOut(BaseModel):
    run_id: str
    user: str | None
    trigger: str
    run_size: int
    cf_ratio: float
    started_at: datetime | None
    completed_at: datetime | None
    cf_count: int
    radio_count: int
    duplicates_skipped: int
    cf_exhausted: bool
    candidates: int


class RetrainOut(BaseModel):
    user: str | None
    marker_kind: str
    old_marker: str | None
    new_marker: str
    old_offset: int
    at: datetime


class RecommendationsOut(BaseModel):
    runs: list[RunOut]
    candidates: list[dict[str, Any]]
    retrains: list[RetrainOut]
