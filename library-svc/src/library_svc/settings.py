"""Settings of library-svc (environment prefix BRAINSTREAM_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field

from infra.runtime import RuntimeSettings

__all__ = ["DEFAULT_PATH_TEMPLATE", "Settings"]

DEFAULT_PATH_TEMPLATE = "{albumartist}/{album} ({year})/{disc}-{track:02} {title}.{ext}"


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(RuntimeSettings):
    music_dir_: Path | None = Field(default=None, validation_alias=_env("BRAINSTREAM_MUSIC_DIR"))
    """The library root; scanned at start and on demand. Default: $BRAINSTREAM_DATA_DIR/music."""
    db_url_: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_LIBRARY_DB_URL"))
    """SQLAlchemy URL of the catalog; a postgresql+psycopg:// URL selects PostgreSQL.
    Default: SQLite (WAL) at $BRAINSTREAM_DATA_DIR/library/catalog.db."""
    path_template: str = Field(default=DEFAULT_PATH_TEMPLATE, validation_alias=_env("BRAINSTREAM_PATH_TEMPLATE"))
    """Where an imported track goes, relative to the root; the live setting `pipeline.path_template` overrides it."""
    http_host: str = Field(default="127.0.0.1", validation_alias=_env("BRAINSTREAM_LIBRARY_HTTP_HOST"))
    """Address of the OpenSubsonic API (loopback/internal only: the gateway authenticates and fronts it)."""
    http_port: int = Field(default=4534, ge=0, le=65535, validation_alias=_env("BRAINSTREAM_LIBRARY_HTTP_PORT"))
    """Port of the OpenSubsonic API."""
    scan_on_start: bool = Field(default=True, validation_alias=_env("BRAINSTREAM_LIBRARY_SCAN_ON_START"))
    """Scan the music folder when the service starts."""
    writer_lease_s: float = Field(default=10.0, ge=0, validation_alias=_env("BRAINSTREAM_LIBRARY_LEASE"))
    """library-svc is single-writer: of several processes, the one holding this lease (in the KV bucket `leases`)
    moves files in and writes the catalog, and the others wait as hot standbys, taking over within this many seconds
    of the writer's crash. 0 turns the lease off (one process only)."""
    navidrome_url: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_NAVIDROME_URL"))
    """Navidrome base URL; with user and password set, its scan is triggered after imports settle."""
    navidrome_user: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_NAVIDROME_USER"))
    """Navidrome user allowed to start a scan (an admin)."""
    navidrome_password: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_NAVIDROME_PASSWORD"))
    """Password of that user (sent as a salted token, never logged)."""
    navidrome_debounce_s: float = Field(default=30.0, ge=0, validation_alias=_env("BRAINSTREAM_NAVIDROME_DEBOUNCE"))
    """Quiet time after the last import before Navidrome's scan is started."""
    navidrome_scan_timeout_s: float = Field(
        default=600.0, gt=0, validation_alias=_env("BRAINSTREAM_NAVIDROME_SCAN_TIMEOUT")
    )
    """How long to poll getScanStatus before reporting a timeout."""

    @property
    def music_dir(self) -> Path:
        return self.music_dir_ or self.data_dir / "music"

    @property
    def db_url(self) -> str:
        if self.db_url_:
            for plain in ("postgresql://", "postgres://"):  # psycopg 3 is the driver this service ships with
                if self.db_url_.startswith(plain):
                    return "postgresql+psycopg://" + self.db_url_.removeprefix(plain)
            return self.db_url_
        return f"sqlite:///{(self.data_dir / 'library' / 'catalog.db').resolve()}"
