"""Settings of the gateway (environment prefix BRAINSTREAM_)."""

from __future__ import annotations

import hashlib
import re
import socket

from pydantic import AliasChoices, Field, field_validator, model_validator

from infra.runtime import RuntimeSettings

__all__ = ["Settings"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"BRAINSTREAM_{name}")


class Settings(RuntimeSettings):
    fetch_batch: int = Field(default=1, ge=1, le=1000, validation_alias=_env("FETCH_BATCH"))
    """Messages pulled per fetch by each read-model consumer. 1 by default: a larger pull waits for a full batch or
    its timeout, and the live feed would lag by seconds when the pipeline is quiet."""
    http_host: str = Field(default="127.0.0.1", validation_alias=_env("HTTP_HOST"))
    """Address the web UI, REST API and /rest listen on; 0.0.0.0 to serve other machines."""
    http_port: int = Field(default=8080, ge=0, le=65535, validation_alias=_env("HTTP_PORT"))
    """Port of the web UI, REST API and /rest."""
    health_timeout_s: float = Field(default=1.0, gt=0, validation_alias=_env("HEALTH_TIMEOUT"))
    """How long /api/health waits for each service's answer."""
    admin_user: str | None = Field(default=None, validation_alias=_env("ADMIN_USER"))
    """First administrator, created at start when no user exists; unset: the first-run setup page asks."""
    admin_password: str | None = Field(default=None, validation_alias=_env("ADMIN_PASSWORD"))
    """Password of BRAINSTREAM_ADMIN_USER (only read while no user exists)."""
    secret_key: str | None = Field(default=None, validation_alias=_env("SECRET_KEY"))
    """Fernet key (urlsafe base64, 32 bytes) encrypting Subsonic app-passwords at rest; unset: a key file under
    BRAINSTREAM_DATA_DIR/gateway/secret.key is made on first start."""
    library_api_url: str = Field(default="http://127.0.0.1:4534", validation_alias=_env("LIBRARY_API_URL"))
    """library-svc's OpenSubsonic API, the default /rest upstream (internal network only)."""
    library_api_secret: str | None = Field(default=None, validation_alias=_env("LIBRARY_API_SECRET"))
    """Sent with every call to library-svc, which answers nobody else; unset: the secret file under
    BRAINSTREAM_DATA_DIR/secrets/library-api.key (made at first start, shared with library-svc)."""
    navidrome_url: str | None = Field(default=None, validation_alias=_env("NAVIDROME_URL"))
    """Navidrome as the /rest upstream instead of the built-in API; the `pipeline` live setting overrides it."""
    navidrome_user: str | None = Field(default=None, validation_alias=_env("NAVIDROME_USER"))
    """Navidrome account the gateway uses upstream (clients never see it)."""
    navidrome_password: str | None = Field(default=None, validation_alias=_env("NAVIDROME_PASSWORD"))
    """Password of BRAINSTREAM_NAVIDROME_USER."""
    session_days: float = Field(default=30.0, gt=0, validation_alias=_env("SESSION_DAYS"))
    """Lifetime of a web session cookie."""
    cookie_secure: bool = Field(default=False, validation_alias=_env("COOKIE_SECURE"))
    """Mark the session cookie Secure (set it when the gateway is served over HTTPS)."""
    sse_keepalive_s: float = Field(default=15.0, gt=0, validation_alias=_env("SSE_KEEPALIVE"))
    """Seconds between keep-alive comments on an idle /api/events stream."""
    subsonic_allow_plain: bool = Field(default=True, validation_alias=_env("SUBSONIC_ALLOW_PLAIN"))
    """Accept `p=` (plain or enc:) passwords on /rest; false answers error 42 to them."""
    subsonic_allow_token: bool = Field(default=True, validation_alias=_env("SUBSONIC_ALLOW_TOKEN"))
    """Accept token+salt on /rest; false answers error 41 to them (for deployments that forbid md5 tokens)."""
    auth_guesses_per_minute: int = Field(default=20, ge=1, le=10_000, validation_alias=_env("AUTH_GUESSES_PER_MINUTE"))
    """Wrong passwords, tokens or API keys one address may try per minute (web login and /rest together); past that
    its attempts are answered "slow down" (429) without being checked."""
    auth_account_guesses_per_minute: int = Field(
        default=10, ge=1, le=10_000, validation_alias=_env("AUTH_ACCOUNT_GUESSES_PER_MINUTE")
    )
    """Wrong passwords tried at one account per minute, from all addresses together (a spread-out attack)."""
    password_checks: int = Field(default=2, ge=1, le=64, validation_alias=_env("PASSWORD_CHECKS"))
    """argon2 hashes or verifications run at once (64 MiB each); further logins wait their turn."""
    trusted_proxies: str = Field(default="", validation_alias=_env("TRUSTED_PROXIES"))
    """Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For names the real client
    (e.g. `127.0.0.1` or `10.0.0.0/8`); empty: X-Forwarded-For is ignored and the connecting address counts."""
    feed_keep: int = Field(default=10_000, ge=100, le=10_000_000, validation_alias=_env("FEED_KEEP"))
    """Events the live feed keeps for Last-Event-ID resumes (the newest; older ones are pruned as new ones come).
    A client whose cursor is older gets a `reset` event and reads the current state again."""
    proxy_timeout_s: float = Field(default=30.0, gt=0, validation_alias=_env("PROXY_TIMEOUT"))
    """Connect and first-byte timeout of the /rest upstream."""
    listenbrainz_url: str = Field(default="https://api.listenbrainz.org", validation_alias=_env("LISTENBRAINZ_URL"))
    """ListenBrainz API, read for what each user is playing now (the History page)."""
    lastfm_url: str = Field(default="https://ws.audioscrobbler.com/2.0/", validation_alias=_env("LASTFM_URL"))
    """Last.fm API, asked for a session key when someone connects Last.fm."""
    lastfm_auth_url: str = Field(default="https://www.last.fm/api/auth/", validation_alias=_env("LASTFM_AUTH_URL"))
    """Last.fm's page where a person allows BrainStream to scrobble for them."""
    lastfm_api_key: str | None = Field(default=None, validation_alias=_env("LASTFM_API_KEY"))
    """Last.fm API key of this installation (the same as ingest-svc's)."""
    lastfm_api_secret: str | None = Field(default=None, validation_alias=_env("LASTFM_API_SECRET"))
    """Its shared secret: signs the session request. Never logged."""
    history_tolerance_s: float = Field(default=60.0, gt=0, le=600, validation_alias=_env("HISTORY_TOLERANCE"))
    """Largest clock difference between two sources' reports of one play (see gateway/history/merge.py)."""
    history_retry_base_s: float = Field(default=3600.0, gt=0, validation_alias=_env("HISTORY_RETRY_BASE"))
    """Wait before an unmatched play is matched again; each further miss waits four times longer."""
    history_retry_cap_s: float = Field(default=7 * 86400.0, gt=0, validation_alias=_env("HISTORY_RETRY_CAP"))
    """Longest wait between two tries of an unmatched play."""
    history_retry_every_s: float = Field(default=60.0, gt=0, validation_alias=_env("HISTORY_RETRY_EVERY"))
    """How often the gateway looks for unmatched plays whose wait has passed."""
    discovery_mirror_every_s: float = Field(default=60.0, gt=0, validation_alias=_env("DISCOVERY_MIRROR_EVERY"))
    """With Navidrome serving /rest: how often the gateway brings users' discovery playlists there up to date (and
    looks again for tracks Navidrome had not scanned)."""
    timezone: str | None = Field(default=None, validation_alias=_env("TIMEZONE"))
    """Time zone of insights for people who have not chosen one (IANA name); unset: TZ, then the system's zone."""
    llm_url: str | None = Field(default=None, validation_alias=_env("LLM_URL"))
    """An OpenAI-compatible API (its base, e.g. http://ollama:11434/v1) that writes the insights summary; unset: the
    summary is templated from the facts alone."""
    llm_model: str = Field(default="llama3.1", validation_alias=_env("LLM_MODEL"))
    """Model name sent to BRAINSTREAM_LLM_URL."""
    llm_api_key: str | None = Field(default=None, validation_alias=_env("LLM_API_KEY"))
    """Bearer key of BRAINSTREAM_LLM_URL, if it needs one. Never logged."""
    llm_timeout_s: float = Field(default=60.0, gt=0, le=600, validation_alias=_env("LLM_TIMEOUT"))
    """How long a summary may take before the page says the LLM did not answer."""

    replica_id: str | None = Field(default=None, validation_alias=_env("REPLICA_ID"))
    """Set when several gateways serve one deployment behind a load balancer: this process's own name (1-8 of
    a-z, 0-9, `-`, `_`), or `host` for one derived from the host name (a container's). Each replica then folds every
    event into its own read model (journeys, history, insights) under BRAINSTREAM_DATA_DIR/gateway/replicas/<id>/,
    through durable consumers of its own (`gateway_view_ingest_<id>` ...). Unset: one gateway, the shared durables."""
    replica_inactive_s: float = Field(default=86_400.0, ge=60, validation_alias=_env("REPLICA_INACTIVE"))
    """A replica's durable consumers that nobody pulled from for this long are removed by the server, so replicas
    that are gone (a container replaced) do not pile up; a replica back after longer folds from the start again."""
    db_url: str | None = Field(default=None, validation_alias=_env("GATEWAY_DB_URL"))
    """SQLAlchemy URL of the accounts database (people, web sessions, API tokens, insight time zones), which every
    replica must share: `postgresql+psycopg://...` across hosts; unset: BRAINSTREAM_DATA_DIR/gateway/gateway.db."""
    start_timeout_s: float = Field(default=120.0, gt=0, validation_alias=_env("START_TIMEOUT"))
    """Longest the start may wait for NATS and JetStream (connect, KV buckets, consumers). Past it the process exits
    non-zero, so a supervisor restarts it, instead of staying up without serving."""

    @field_validator("replica_id")
    @classmethod
    def _replica_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if value == "host":
            return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
        if not re.fullmatch(r"[a-z0-9_-]{1,8}", value):
            raise ValueError("BRAINSTREAM_REPLICA_ID: 1 to 8 of a-z, 0-9, '-', '_' (it ends durable names) or 'host'")
        return value

    @field_validator("db_url")
    @classmethod
    def _psycopg(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        for plain in ("postgresql://", "postgres://"):  # psycopg 3 is the driver shipped
            if value.startswith(plain):
                return "postgresql+psycopg://" + value.removeprefix(plain)
        return value

    @model_validator(mode="after")
    def _navidrome_needs_an_account(self) -> Settings:
        if self.navidrome_url and not (self.navidrome_user and self.navidrome_password):
            raise ValueError(
                "BRAINSTREAM_NAVIDROME_URL is set: BRAINSTREAM_NAVIDROME_USER and BRAINSTREAM_NAVIDROME_PASSWORD "
                "are required too (the gateway logs in to Navidrome with them)"
            )
        return self
