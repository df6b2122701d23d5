"""Settings that change while the stack runs, kept in the `settings` KV bucket.

The gateway writes them; every service watches the bucket and applies a change without a restart. A field left
`None` is not overridden: the service keeps its own setting (environment or default).

Keys:
- `pipeline`: one `PipelineSettings` JSON document;
- `user.<username>`: one `UserAccounts` JSON document per BrainStream user.
"""

from __future__ import annotations

import re

from pydantic import Field

from .base import Model

__all__ = ["PIPELINE_KEY", "SETTINGS_BUCKET", "PipelineSettings", "UserAccounts", "user_key"]

SETTINGS_BUCKET = "settings"
PIPELINE_KEY = "pipeline"
_USER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def user_key(username: str) -> str:
    if not _USER_RE.fullmatch(username):
        raise ValueError(f"user name {username!r}: letters, digits, '_' and '-' only, at most 64")
    return f"user.{username}"


class PipelineSettings(Model):
    run_interval_s: float | None = Field(default=None, gt=0, description="Seconds between recommendation runs.")
    cf_ratio: float | None = Field(default=None, ge=0, le=1, description="Share of CF in a run; the rest is radio.")
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
