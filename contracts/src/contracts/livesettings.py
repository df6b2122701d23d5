"""Settings that change while the stack runs, kept in the `settings` KV bucket.

The gateway writes them; every service watches the bucket and applies a change without a restart. A field left
`None` is not overridden: the service keeps its own setting (environment or default).

Keys:
- `pipeline`: one `PipelineSettings` JSON document;
- `user.<username>`: one `UserAccounts` JSON document per BrainStream user.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from .base import Model
from .discovery import DiscoveryRules

__all__ = ["PIPELINE_KEY", "SETTINGS_BUCKET", "PipelineSettings", "StreamDefault", "UserAccounts", "user_key"]

SETTINGS_BUCKET = "settings"
PIPELINE_KEY = "pipeline"
_USER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def user_key(username: str) -> str:
    if not _USER_RE.fullmatch(username):
        raise ValueError(f"user name {username!r}: letters, digits, '_' and '-' only, at most 64")
    return f"user.{username}"


class StreamDefault(Model):
    """A default for the streams of one user and/or one Subsonic client (`*` for any), as Navidrome's players."""

    user: str = Field(default="*", min_length=1, max_length=64)
    client: str = Field(default="*", min_length=1, max_length=100, description="The `c` parameter clients send.")
    format: Literal["mp3", "opus", "aac", "raw"] | None = Field(default=None, description="Unset: as asked.")
    max_bitrate: int = Field(default=0, ge=0, le=2000, description="kbps; 0 for no limit.")


class PipelineSettings(Model):
    run_interval_s: float | None = Field(default=None, gt=0, description="Seconds between recommendation runs.")
    cf_ratio: float | None = Field(default=None, ge=0, le=1, description="Share of CF in a run; the rest is radio.")
    playlists_ratio: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Share of a run taken from the user's ListenBrainz generated playlists (Weekly Exploration, "
        "Weekly Jams); CF and radio share the rest by cf_ratio.",
    )
    run_size: int | None = Field(default=None, ge=1, le=1000, description="Candidates per run and user.")
    acquire_backends: list[str] | None = Field(default=None, description="Download backends, in order.")
    path_template: str | None = Field(default=None, description="Library path template.")
    tag_album_mbid: bool | None = Field(
        default=None, description="Write the album MBID tag (splits albums in some servers)."
    )
    navidrome_url: str | None = Field(
        default=None, description="Navidrome upstream for /rest; empty for the built-in API."
    )
    navidrome_user: str | None = Field(
        default=None, description="Navidrome account the gateway signs in with; unset: the gateway's environment."
    )
    navidrome_password_sealed: str | None = Field(
        default=None,
        description="That account's password, sealed with the gateway's key: only the gateway reads it.",
    )
    sonos_speakers: list[str] | None = Field(default=None, description="Sonos speaker addresses to watch.")
    sonos_discover: bool | None = Field(default=None, description="Also discover speakers on the local network.")
    sonos_interval_s: float | None = Field(default=None, ge=1, le=3600, description="Seconds between speaker polls.")
    sonos_users: dict[str, str] | None = Field(
        default=None, description="Room name or speaker address → BrainStream user whose listens it plays."
    )
    sonos_default_user: str | None = Field(default=None, description="User of a speaker not in sonos_users.")
    stream_defaults: list[StreamDefault] | None = Field(
        default=None,
        max_length=200,
        description="Per-user and per-client stream format and bitrate limits of the built-in library (the most "
        "specific applies); unset: BRAINSTREAM_PLAYER_DEFAULTS.",
    )
    discovery: DiscoveryRules | None = Field(
        default=None, description="Keep and expiry rules of discoveries for every user (a user's own win)."
    )


class UserAccounts(Model):
    """One person's accounts at the listening services. Secrets stay inside the stack's own NATS."""

    username: str
    enabled: bool = True
    listenbrainz_user: str | None = None
    listenbrainz_token: str | None = None
    lastfm_user: str | None = None
    spotify_client_id: str | None = None
    spotify_client_secret: str | None = None
    spotify_refresh_token: str | None = None
    lastfm_session_key: str | None = Field(
        default=None, description="Last.fm session key from the web auth flow: lets BrainStream scrobble for them."
    )
    forward_listenbrainz: bool = Field(
        default=True, description="Send plays from Subsonic clients and speakers on to their ListenBrainz."
    )
    forward_lastfm: bool = Field(default=True, description="Send those plays on to their Last.fm.")
    navidrome_user: str | None = Field(
        default=None,
        description="This user's own Navidrome account: with Navidrome serving /rest, the gateway signs in as it for "
        "this user (their playlists are theirs) and makes their discovery playlists there.",
    )
    navidrome_password_sealed: str | None = Field(
        default=None, description="That account's password, sealed with the gateway's key: only the gateway reads it."
    )
    discovery: DiscoveryRules | None = Field(default=None, description="This user's own keep and expiry rules.")
    excluded_artists: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Artists never to recommend to this user (display names, compared folded).",
    )
