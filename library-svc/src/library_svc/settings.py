"""Settings of library-svc (environment prefix BRAINSTREAM_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator

from contracts.discovery import parse_duration, parse_size
from contracts.pathtemplate import DEFAULT_PATH_TEMPLATE, template_problem
from infra.internal import library_api_secret
from infra.runtime import RuntimeSettings

from .domain.transcoding import PlayerRule

__all__ = ["DEFAULT_PATH_TEMPLATE", "Settings"]


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

    @field_validator("path_template")
    @classmethod
    def _template_is_usable(cls, value: str) -> str:
        problem = template_problem(value)
        if problem is not None:
            raise ValueError(f"BRAINSTREAM_PATH_TEMPLATE: {problem}")
        return value

    http_host: str = Field(default="127.0.0.1", validation_alias=_env("BRAINSTREAM_LIBRARY_HTTP_HOST"))
    """Address of the OpenSubsonic API (loopback/internal only: the gateway authenticates and fronts it)."""
    http_port: int = Field(default=4534, ge=0, le=65535, validation_alias=_env("BRAINSTREAM_LIBRARY_HTTP_PORT"))
    """Port of the OpenSubsonic API."""
    api_secret_: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_LIBRARY_API_SECRET"))
    """The secret the gateway sends with every call to the OpenSubsonic API (anything else is answered 401).
    Default: $BRAINSTREAM_DATA_DIR/secrets/library-api.key, made at first start (mode 0600)."""
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

    ffmpeg: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_FFMPEG"))
    """ffmpeg for transcoding; default: `ffmpeg` on PATH, else the binary of the imageio-ffmpeg package."""
    transcode_format: str = Field(
        default="mp3", pattern="^(mp3|opus|aac)$", validation_alias=_env("BRAINSTREAM_TRANSCODE_FORMAT")
    )
    """Format of a transcode when a bitrate limit applies but no format was asked for."""
    player_defaults: list[PlayerRule] = Field(
        default_factory=list, validation_alias=_env("BRAINSTREAM_PLAYER_DEFAULTS")
    )
    """Stream defaults per user and client, as JSON: `[{"user": "*", "client": "DSub", "format": "mp3",
    "max_bitrate": 128}]`; the most specific rule applies, and a request's own maxBitRate can only lower it."""
    transcode_cache_mb: int = Field(default=1024, ge=0, validation_alias=_env("BRAINSTREAM_TRANSCODE_CACHE_MB"))
    """Disk kept for finished transcodes (least recently used go first); 0 keeps none."""
    cover_cache_mb: int = Field(default=256, ge=0, validation_alias=_env("BRAINSTREAM_COVER_CACHE_MB"))
    """Disk kept for resized covers; 0 keeps none (each resize is redone)."""
    info_enabled: bool = Field(default=True, validation_alias=_env("BRAINSTREAM_LIBRARY_INFO"))
    """Fetch artist/album facts, top and similar songs from MusicBrainz and ListenBrainz in the background."""
    info_budget_per_hour: int = Field(default=600, ge=0, validation_alias=_env("BRAINSTREAM_LIBRARY_INFO_BUDGET"))
    """External requests per hour the info endpoints may make (each source also keeps 1 request/s)."""
    musicbrainz_url: str = Field(
        default="https://musicbrainz.org", validation_alias=_env("BRAINSTREAM_MUSICBRAINZ_URL")
    )
    """MusicBrainz WS/2 base URL (a mirror works too)."""
    listenbrainz_url: str = Field(
        default="https://api.listenbrainz.org", validation_alias=_env("BRAINSTREAM_LISTENBRAINZ_URL")
    )
    """ListenBrainz API root."""

    discovery_enabled: bool = Field(default=True, validation_alias=_env("BRAINSTREAM_DISCOVERY_ENABLED"))
    """Discoveries expire at all; the live `discovery.enabled` (pipeline, then the user's) wins."""
    discovery_keep_plays: int = Field(
        default=1, ge=1, le=100, validation_alias=_env("BRAINSTREAM_DISCOVERY_KEEP_PLAYS")
    )
    """Full plays by its user that keep a discovery."""
    discovery_keep_rating: int = Field(
        default=3, ge=2, le=5, validation_alias=_env("BRAINSTREAM_DISCOVERY_KEEP_RATING")
    )
    """Lowest rating in the built-in server that keeps a discovery (1 star hates it)."""
    discovery_keep_for: str = Field(default="21d", validation_alias=_env("BRAINSTREAM_DISCOVERY_KEEP_FOR"))
    """How long a discovery waits to be kept after it last joined a weekly playlist: `21d`, `12h`, `90s`."""
    discovery_trash_for: str = Field(default="7d", validation_alias=_env("BRAINSTREAM_DISCOVERY_TRASH_FOR"))
    """How long the trash keeps an expired discovery's file (restorable until then)."""
    discovery_disk_budget: str | None = Field(default=None, validation_alias=_env("BRAINSTREAM_DISCOVERY_DISK_BUDGET"))
    """Most bytes the unkept discoveries may use (`20G`, `500M`); unset: no budget."""
    discovery_trash_dir_: Path | None = Field(default=None, validation_alias=_env("BRAINSTREAM_DISCOVERY_TRASH_DIR"))
    """Where expired discoveries wait to be purged; keep it on the music folder's filesystem so a move is a rename.
    Default: $BRAINSTREAM_DATA_DIR/library/trash."""
    discovery_tick_s: float = Field(default=60.0, gt=0, validation_alias=_env("BRAINSTREAM_DISCOVERY_TICK"))
    """Seconds between two looks at expiry, the trash and the disk budget (stars and ratings wake it at once)."""

    @field_validator("discovery_keep_for", "discovery_trash_for")
    @classmethod
    def _is_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("discovery_disk_budget")
    @classmethod
    def _is_size(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_size(value)
            return value
        return None

    @model_validator(mode="after")
    def _trash_outside_the_library(self) -> Settings:
        """A trash the folder scan would index again is refused (the scan skips hidden folders like `.trash`)."""
        trash, music = self.discovery_trash_dir.resolve(), self.music_dir.resolve()
        inside = trash == music or trash.is_relative_to(music)
        if inside and not any(part.startswith(".") for part in trash.relative_to(music).parts):
            raise ValueError(
                f"BRAINSTREAM_DISCOVERY_TRASH_DIR ({trash}) is inside the music folder ({music}), where a scan would "
                "index it again: put it beside the music folder on the same filesystem, or in a hidden folder of it"
            )
        return self

    @property
    def discovery_trash_dir(self) -> Path:
        return self.discovery_trash_dir_ or self.data_dir / "library" / "trash"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "library" / "cache"

    @property
    def api_secret(self) -> str:
        return library_api_secret(self.api_secret_, self.data_dir)

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
