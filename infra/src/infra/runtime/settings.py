"""Settings every service process shares. Each service adds its own with its own prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..natsauth import NatsCredentials
from ..secretbox import KeySource, key_file

__all__ = ["RuntimeSettings"]


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    nats_url: str = Field(default="nats://127.0.0.1:4222", validation_alias=AliasChoices("NATS_URL"))
    """The NATS server (or cluster, comma-separated) with JetStream; may carry credentials (nats://user:pw@host)."""
    nats_user: str | None = Field(default=None, validation_alias=AliasChoices("BRAINSTREAM_NATS_USER"))
    """NATS user (with BRAINSTREAM_NATS_PASSWORD); `brainstream up` sets both for its embedded server."""
    nats_password: SecretStr | None = Field(default=None, validation_alias=AliasChoices("BRAINSTREAM_NATS_PASSWORD"))
    """Password of BRAINSTREAM_NATS_USER."""
    nats_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("BRAINSTREAM_NATS_TOKEN"))
    """A NATS token instead of a user and password."""
    nats_creds: Path | None = Field(default=None, validation_alias=AliasChoices("BRAINSTREAM_NATS_CREDS"))
    """A NATS `.creds` file (JWT and nkey seed) instead of a user and password."""
    data_dir: Path = Field(default=Path("data"), validation_alias=AliasChoices("BRAINSTREAM_DATA_DIR"))
    """Where every service keeps its local state (staging, catalog, caches)."""
    secret_key: str | None = Field(default=None, validation_alias=AliasChoices("BRAINSTREAM_SECRET_KEY"))
    """Fernet key that seals secrets at rest (gateway.db, the accounts in the settings KV); unset: the key file
    BRAINSTREAM_DATA_DIR/gateway/secret.key, made at first start. Every service that reads sealed values needs it."""
    fetch_batch: int = Field(default=10, ge=1, le=1000, validation_alias=AliasChoices("BRAINSTREAM_FETCH_BATCH"))
    """Messages each durable consumer handles at once in one process, unless `max_workers` is above 1."""
    max_workers: int = Field(default=1, ge=1, le=64, validation_alias=AliasChoices("BRAINSTREAM_MAX_WORKERS"))
    """Above 1: messages handled at once per consumer in one process, instead of `fetch_batch`. A process pulls one
    message per free worker, so none waits unseen; more processes (replicas) scale further."""
    lag_refresh_s: float = Field(default=15.0, gt=0, validation_alias=AliasChoices("BRAINSTREAM_LAG_REFRESH"))
    """Seconds between two reads of the pending counts of this process's durable consumers (metrics and health)."""
    idle_lag_s: float = Field(default=120.0, gt=0, validation_alias=AliasChoices("BRAINSTREAM_IDLE_LAG_AFTER"))
    """A consumer with messages pending while this process handled none for this long reports unhealthy."""
    upstream_degraded_after_s: float = Field(
        default=60.0, gt=0, validation_alias=AliasChoices("BRAINSTREAM_UPSTREAM_DEGRADED_AFTER")
    )
    """An external service that has failed without a success for this long, while work still asks it, makes the
    service that uses it `degraded` (named in /api/health and `brainstream status`)."""
    upstream_waiting_window_s: float = Field(
        default=600.0, gt=0, validation_alias=AliasChoices("BRAINSTREAM_UPSTREAM_WAITING_WINDOW")
    )
    """Work waits on a failing upstream while its last failure is at most this old; older, nothing asks it now."""

    @property
    def nats_credentials(self) -> NatsCredentials:
        return NatsCredentials(
            self.nats_user,
            self.nats_password.get_secret_value() if self.nats_password else None,
            self.nats_token.get_secret_value() if self.nats_token else None,
            self.nats_creds,
        )

    def secret_key_source(self) -> KeySource:
        """The installation's key (BRAINSTREAM_SECRET_KEY, else the gateway's key file), looked up when needed."""
        return KeySource(self.secret_key or None, key_file(self.data_dir))
