"""Settings of ingest-svc (environment prefix BRAINSTREAM_).

Every external base URL is a setting. The first user's accounts may come from the environment (the one-person
setup); more users, and changes without a restart, come from the live `settings` KV bucket (`user.<name>`).
"""

from __future__ import annotations

from typing import Self

from pydantic import AliasChoices, Field, model_validator

from infra.runtime import RuntimeSettings

from .domain.sonos_config import parse_speakers, parse_user_map

__all__ = ["MissingSetting", "Settings"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"BRAINSTREAM_{name}")


class MissingSetting(ValueError):
    """A value another setting depends on is missing; the message names the variable to set."""


class Settings(RuntimeSettings):
    # base URLs --------------------------------------------------------------------------------------------------
    listenbrainz_url: str = Field(default="https://api.listenbrainz.org", validation_alias=_env("LISTENBRAINZ_URL"))
    """ListenBrainz API root (CF recommendations, LB Radio, generated playlists, stats, listens, feedback)."""
    lastfm_url: str = Field(default="https://ws.audioscrobbler.com/2.0/", validation_alias=_env("LASTFM_URL"))
    """Last.fm API endpoint (the `/2.0/` method URL)."""
    spotify_api_url: str = Field(default="https://api.spotify.com/v1", validation_alias=_env("SPOTIFY_API_URL"))
    """Spotify Web API root."""
    spotify_accounts_url: str = Field(
        default="https://accounts.spotify.com", validation_alias=_env("SPOTIFY_ACCOUNTS_URL")
    )
    """Spotify accounts service (token refresh at `/api/token`)."""

    # the first user's accounts, from the environment ---------------------------------------------------------------
    admin_user: str = Field(default="admin", validation_alias=_env("ADMIN_USER"))
    """BrainStream name of the user whose accounts the variables below describe (the gateway's first user)."""
    listenbrainz_user: str | None = Field(default=None, validation_alias=_env("LISTENBRAINZ_USER"))
    """ListenBrainz user name of the first user: recommendations and listen history."""
    listenbrainz_token: str | None = Field(default=None, validation_alias=_env("LISTENBRAINZ_TOKEN"))
    """ListenBrainz user token of the first user (optional; sent as `Authorization: Token …`)."""
    lastfm_user: str | None = Field(default=None, validation_alias=_env("LASTFM_USER"))
    """Last.fm user name of the first user (listen history)."""
    lastfm_api_key: str | None = Field(default=None, validation_alias=_env("LASTFM_API_KEY"))
    """Last.fm API key of this installation; required as soon as any user has a Last.fm name."""
    lastfm_api_secret: str | None = Field(default=None, validation_alias=_env("LASTFM_API_SECRET"))
    """Last.fm shared secret of that key: signs scrobbles sent on for users who connected Last.fm."""
    lastfm_session_key: str | None = Field(default=None, validation_alias=_env("LASTFM_SESSION_KEY"))
    """Session key of the environment's user (BRAINSTREAM_LASTFM_USER): their plays from Subsonic clients are
    scrobbled to Last.fm. People who sign in to the web UI connect Last.fm there instead."""
    spotify_client_id: str | None = Field(default=None, validation_alias=_env("SPOTIFY_CLIENT_ID"))
    """Spotify app client id (refresh-token flow)."""
    spotify_client_secret: str | None = Field(default=None, validation_alias=_env("SPOTIFY_CLIENT_SECRET"))
    """Spotify app client secret."""
    spotify_refresh_token: str | None = Field(default=None, validation_alias=_env("SPOTIFY_REFRESH_TOKEN"))
    """Spotify refresh token of the first user (scope user-read-recently-played)."""

    # recommendations ------------------------------------------------------------------------------------------------
    run_interval_s: float = Field(default=6 * 3600.0, gt=0, validation_alias=_env("RUN_INTERVAL"))
    """Seconds between scheduled recommendation runs (live setting `run_interval_s` overrides)."""
    run_size: int = Field(default=20, ge=1, le=1000, validation_alias=_env("RUN_SIZE"))
    """Candidates per run and user (live setting `run_size` overrides)."""
    cf_ratio: float = Field(default=0.8, ge=0, le=1, validation_alias=_env("CF_RATIO"))
    """Share of CF in a run; the rest comes from LB Radio (live setting `cf_ratio` overrides)."""
    playlists_ratio: float = Field(default=0.2, ge=0, le=1, validation_alias=_env("PLAYLISTS_RATIO"))
    """Share of a run taken from the playlists ListenBrainz generates for the user (Weekly Exploration, Weekly Jams);
    CF and radio share the rest by the CF ratio; 0 turns the source off (live setting `playlists_ratio`)."""
    cf_page_size: int = Field(default=100, ge=1, le=1000, validation_alias=_env("CF_PAGE_SIZE"))
    """CF recommendations fetched per request; a run pages on until its CF share is filled or CF is exhausted."""
    cf_max_pages: int = Field(default=5, ge=1, validation_alias=_env("CF_MAX_PAGES"))
    """Most CF requests in one run (bounds the cost when nearly everything is a duplicate)."""
    radio_mode: str = Field(default="easy", pattern="^(easy|medium|hard)$", validation_alias=_env("RADIO_MODE"))
    """LB Radio mode: easy, medium or hard (how far from the seed artists it wanders)."""
    radio_seed_artists: int = Field(default=3, ge=1, le=20, validation_alias=_env("RADIO_SEED_ARTISTS"))
    """Top artists in one radio prompt; successive runs rotate through the top list."""
    radio_top_artists: int = Field(default=25, ge=1, le=100, validation_alias=_env("RADIO_TOP_ARTISTS"))
    """How many of the user's top artists the rotation draws from."""
    radio_stats_range: str = Field(default="all_time", validation_alias=_env("RADIO_STATS_RANGE"))
    """ListenBrainz statistics range for the top artists (this_month, this_year, all_time, …)."""

    # listens -------------------------------------------------------------------------------------------------------
    listen_interval_s: float = Field(default=300.0, gt=0, validation_alias=_env("LISTEN_INTERVAL"))
    """Seconds between listen-history polls of each source."""
    listen_lookback_s: float = Field(default=3 * 86400.0, ge=0, validation_alias=_env("LISTEN_LOOKBACK"))
    """Each poll re-reads this far behind its cursor, to catch late or backdated scrobbles (duplicates are gated)."""
    listen_page_size: int = Field(default=1000, ge=1, le=1000, validation_alias=_env("LISTEN_PAGE_SIZE"))
    """Listens per ListenBrainz request (its maximum is 1000; Last.fm caps at 200, Spotify at 50)."""
    listen_history_days: float = Field(default=0.0, ge=0, validation_alias=_env("LISTEN_HISTORY_DAYS"))
    """On a source's first poll, how far back to import; 0 imports the whole history."""

    # outbound limits -------------------------------------------------------------------------------------------------
    listenbrainz_min_interval_s: float = Field(default=1.0, ge=0, validation_alias=_env("LISTENBRAINZ_MIN_INTERVAL"))
    """Least time between two ListenBrainz requests, held across every service and replica together (ListenBrainz
    asks for 1 request/s; resolve-svc takes its slots from the same shared budget)."""
    lastfm_min_interval_s: float = Field(default=0.2, ge=0, validation_alias=_env("LASTFM_MIN_INTERVAL"))
    """Least time between two Last.fm requests across every replica (Last.fm allows about 5 per second)."""
    rate_margin_s: float = Field(default=0.1, ge=0, validation_alias=_env("RATE_MARGIN"))
    """Safety added to each ListenBrainz gap, absorbing network jitter and clock skew between replicas."""
    lastfm_error_retries: int = Field(default=3, ge=0, validation_alias=_env("LASTFM_ERROR_RETRIES"))
    """Retries of a Last.fm call answered with a temporary error code in an HTTP 200 body (29, 8, 11, 16)."""

    # Sonos speakers ------------------------------------------------------------------------------------------------
    sonos_speakers: str = Field(default="", validation_alias=_env("SONOS_SPEAKERS"))
    """Speakers to watch, comma-separated addresses (`192.168.1.20,192.168.1.21`, a port after `:` if not 1400);
    live setting `sonos_speakers` overrides."""
    sonos_discover: bool = Field(default=False, validation_alias=_env("SONOS_DISCOVER"))
    """Also find speakers on the local network with Sonos discovery (SSDP multicast); live `sonos_discover`."""
    sonos_interval_s: float = Field(default=10.0, ge=1, le=3600, validation_alias=_env("SONOS_INTERVAL"))
    """Seconds between two polls of every speaker; live setting `sonos_interval_s` overrides."""
    sonos_users: str = Field(default="", validation_alias=_env("SONOS_USERS"))
    """Which BrainStream user listens where: `Living Room=alice,192.168.1.21=bob` (room name or address);
    live setting `sonos_users` overrides."""
    sonos_default_user: str | None = Field(default=None, validation_alias=_env("SONOS_DEFAULT_USER"))
    """The user of a speaker not in `sonos_users` (default: BRAINSTREAM_ADMIN_USER)."""
    sonos_timeout_s: float = Field(default=5.0, gt=0, le=60, validation_alias=_env("SONOS_TIMEOUT"))
    """How long one call to a speaker may take before the speaker counts as unreachable."""

    scheduler_lease_s: float = Field(default=30.0, gt=0, validation_alias=_env("INGEST_LEASE"))
    """With several ingest-svc processes, one runs the scheduled loops; another takes over when it has not renewed
    its lease for this many seconds."""

    @model_validator(mode="after")
    def _dependent_values(self) -> Self:
        if self.lastfm_user and not self.lastfm_api_key:
            raise MissingSetting("BRAINSTREAM_LASTFM_API_KEY is required when BRAINSTREAM_LASTFM_USER is set")
        if self.spotify_refresh_token:
            for name, value in (
                ("BRAINSTREAM_SPOTIFY_CLIENT_ID", self.spotify_client_id),
                ("BRAINSTREAM_SPOTIFY_CLIENT_SECRET", self.spotify_client_secret),
            ):
                if not value:
                    raise MissingSetting(f"{name} is required when BRAINSTREAM_SPOTIFY_REFRESH_TOKEN is set")
        try:
            parse_speakers(self.sonos_speakers)
        except ValueError as exc:
            raise MissingSetting(f"BRAINSTREAM_SONOS_SPEAKERS: {exc}") from None
        try:
            parse_user_map(self.sonos_users)
        except ValueError as exc:
            raise MissingSetting(f"BRAINSTREAM_SONOS_USERS: {exc}") from None
        return self
