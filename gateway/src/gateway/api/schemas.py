"""HTTP shapes of the REST API (apart from SQL rows and wire contracts)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from contracts.discovery import DiscoveryRules
from contracts.livesettings import PipelineSettings, StreamDefault
from contracts.pathtemplate import preview, template_problem

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
    navidrome_user: str | None = Field(
        default=None, max_length=200, description="Their own Navidrome account (with Navidrome serving /rest)."
    )
    navidrome_password: str | None = Field(
        default=None, max_length=1000, description="Its password; stored sealed, never shown again."
    )


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
    navidrome_user: str | None = None
    has_navidrome_password: bool = False


_SpeakerAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:\d{1,5})?$"),
]
"""A speaker: an IPv4 address or host name, and a port after `:` when it is not 1400."""
_Place = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A room name or a speaker address."""
_Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


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
    sonos_speakers: list[_SpeakerAddress] | None = Field(default=None, max_length=64)
    sonos_discover: bool | None = None
    sonos_interval_s: float | None = Field(default=None, ge=1, le=3600)
    sonos_users: dict[_Place, _Username] | None = Field(default=None, max_length=64)
    sonos_default_user: _Username | None = None
    stream_defaults: list[StreamDefault] | None = Field(default=None, max_length=200)
    playlists_ratio: float | None = Field(default=None, ge=0, le=1)
    discovery: DiscoveryRules | None = Field(
        default=None, description="Keep and expiry rules of discoveries for every user (a user's own win)."
    )

    @field_validator("path_template")
    @classmethod
    def _usable_template(cls, value: str | None) -> str | None:
        problem = template_problem(value) if value else None
        if problem is not None:
            raise ValueError(problem)
        return value


class PipelineSettingsOut(PipelineSettings):
    """The live settings as shown: the Navidrome password never leaves the gateway, only whether one is set."""

    navidrome_password_sealed: SkipJsonSchema[None] = Field(default=None, exclude=True)
    navidrome_password_set: bool = False
    path_preview: str | None = Field(
        default=None, description="Where a sample track would go under path_template (unset: library-svc's own)."
    )

    @classmethod
    def of(cls, settings: PipelineSettings) -> PipelineSettingsOut:
        shown = settings.model_dump(exclude={"navidrome_password_sealed"})
        template = settings.path_template
        shown_preview = preview(template) if template and template_problem(template) is None else None
        return cls(**shown, navidrome_password_set=bool(settings.navidrome_password_sealed), path_preview=shown_preview)


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


class RetryOut(BaseModel):
    """Where a `retrying` journey stands: the stage whose attempt failed, the attempt, the limit, the next try."""

    stage: str | None
    attempt: int | None
    limit: int | None
    next_attempt_at: datetime | None
    error: str | None


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
    retry: RetryOut | None = None
    """Set while the state is `retrying`."""
    last_error: str | None = None
    upstream: str | None = None
    dead_letters: list[int] = []
    """Letters of this journey in DEADLETTER; Retry re-drives them."""


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
    outcome: str | None = None
    """None while running; `done`, `empty` or `failed`."""
    reason: str | None = None


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
