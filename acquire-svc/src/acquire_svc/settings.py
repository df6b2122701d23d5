"""Settings of acquire-svc (environment prefix BRAINSTREAM_).

Every field has a default that works on one machine; the slskd backend needs its URL and API key only when it is
enabled, and then fails fast naming the missing variable.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, model_validator

from infra.runtime import RuntimeSettings

__all__ = ["KNOWN_BACKENDS", "Settings"]

KNOWN_BACKENDS = ("url", "inbox", "slskd", "yt-dlp")


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"BRAINSTREAM_{name}")


class Settings(RuntimeSettings):
    """Shared runtime settings plus acquire-svc's own."""

    acquire_backends: str = Field(default="url,inbox,yt-dlp", validation_alias=_env("ACQUIRE_BACKENDS"))
    """Download backends in the order they are tried, comma-separated, from url, inbox, slskd, yt-dlp. The live
    setting `pipeline.acquire_backends` overrides it while the stack runs."""
    staging_dir: Path | None = Field(default=None, validation_alias=_env("STAGING_DIR"))
    """Where files are downloaded and tagged; default $BRAINSTREAM_DATA_DIR/staging. It must be on the same
    filesystem as the library, so the move into the library stays one atomic rename."""
    inbox_dir: Path | None = Field(default=None, validation_alias=_env("INBOX_DIR"))
    """Folder whose audio files are matched to wanted tracks; default $BRAINSTREAM_DATA_DIR/inbox."""
    inbox_remove_taken: bool = Field(default=True, validation_alias=_env("INBOX_REMOVE_TAKEN"))
    """Delete an inbox file once its copy in staging has passed validation."""
    max_attempts: int = Field(default=5, ge=1, le=50, validation_alias=_env("ACQUIRE_MAX_ATTEMPTS"))
    """Candidates downloaded and validated per track before it fails with `attempts_exhausted`."""

    # validation
    allowed_codecs: str = Field(default="mp3,flac,vorbis,opus,aac,alac", validation_alias=_env("ACQUIRE_CODECS"))
    """Codecs a file may have, comma-separated (mp3, flac, vorbis, opus, aac, alac)."""
    min_bitrate_kbps: int = Field(default=96, ge=0, validation_alias=_env("ACQUIRE_MIN_BITRATE_KBPS"))
    """Lowest bitrate accepted for lossy codecs; lossless files are exempt."""
    duration_tolerance_s: float = Field(default=3.0, ge=0, validation_alias=_env("ACQUIRE_DURATION_TOLERANCE_S"))
    """Smallest allowed distance between the file's length and the MusicBrainz length."""
    duration_tolerance_pct: float = Field(default=3.0, ge=0, validation_alias=_env("ACQUIRE_DURATION_TOLERANCE_PCT"))
    """Allowed distance as a percentage of the MusicBrainz length; the larger of the two tolerances applies."""
    min_title_similarity: float = Field(default=0.8, ge=0, le=1, validation_alias=_env("ACQUIRE_MIN_TITLE_SIMILARITY"))
    """How well a candidate's title must match the wanted one (token overlap, 0..1)."""
    max_file_mb: float = Field(default=300.0, gt=0, validation_alias=_env("ACQUIRE_MAX_FILE_MB"))
    """Largest file any backend may bring in (direct URLs stop reading beyond it)."""

    # tagging
    tag_album_mbid: bool = Field(default=True, validation_alias=_env("TAG_ALBUM_MBID"))
    """Write the MusicBrainz album (release) id; off keeps per-track album ids from splitting albums in some
    servers. The live setting `pipeline.tag_album_mbid` overrides it."""
    cover_max_mb: float = Field(default=10.0, gt=0, validation_alias=_env("ACQUIRE_COVER_MAX_MB"))
    """Largest cover image embedded; a bigger one is left out (and logged)."""

    # yt-dlp
    ytdlp_results: int = Field(default=8, ge=1, le=50, validation_alias=_env("YTDLP_RESULTS"))
    """Search results considered per track."""
    ytdlp_search_prefix: str = Field(default="ytsearch", validation_alias=_env("YTDLP_SEARCH_PREFIX"))
    """yt-dlp search key (ytsearch, scsearch, …)."""
    ytdlp_timeout_s: float = Field(default=300.0, gt=0, validation_alias=_env("YTDLP_TIMEOUT_S"))
    """Longest time one search or one download may take."""
    ytdlp_socket_timeout_s: float = Field(default=20.0, gt=0, validation_alias=_env("YTDLP_SOCKET_TIMEOUT_S"))
    """Network timeout of one yt-dlp request."""
    ytdlp_cookies: Path | None = Field(default=None, validation_alias=_env("YTDLP_COOKIES"))
    """A Netscape cookies.txt for yt-dlp (optional)."""
    ffmpeg: str | None = Field(default=None, validation_alias=_env("FFMPEG"))
    """Path of ffmpeg for yt-dlp; default: `ffmpeg` on PATH, else imageio-ffmpeg's binary when installed, else
    none (only sources that are already audio files are kept)."""

    # slskd
    slskd_url: str | None = Field(default=None, validation_alias=_env("SLSKD_URL"))
    """Base URL of slskd, e.g. http://127.0.0.1:5030 (needed when the slskd backend is enabled)."""
    slskd_api_key: str | None = Field(default=None, validation_alias=_env("SLSKD_API_KEY"), repr=False)
    """slskd API key (X-API-Key); never logged."""
    slskd_downloads_dir: Path | None = Field(default=None, validation_alias=_env("SLSKD_DOWNLOADS_DIR"))
    """slskd's download folder as this process sees it (needed when the slskd backend is enabled)."""
    slskd_search_timeout_s: float = Field(default=15.0, gt=0, validation_alias=_env("SLSKD_SEARCH_TIMEOUT_S"))
    """Time limit of one slskd search."""
    slskd_stall_timeout_s: float = Field(default=60.0, gt=0, validation_alias=_env("SLSKD_STALL_TIMEOUT_S"))
    """A transfer whose byte count has not moved for this long is given up."""
    slskd_poll_s: float = Field(default=1.0, gt=0, validation_alias=_env("SLSKD_POLL_S"))
    """Interval between status polls of a search or transfer."""
    slskd_formats: str = Field(default="flac,mp3,m4a,ogg,opus", validation_alias=_env("SLSKD_FORMATS"))
    """File extensions wanted from slskd, most preferred first."""

    # direct URL
    url_allow_private: bool = Field(default=False, validation_alias=_env("URL_ALLOW_PRIVATE"))
    """Allow direct URLs that point at private, loopback or link-local addresses (off: SSRF protection)."""
    url_timeout_s: float = Field(default=60.0, gt=0, validation_alias=_env("URL_TIMEOUT_S"))
    """Network timeout of a direct-URL download."""

    @model_validator(mode="after")
    def _check(self) -> Settings:
        for name in self.backend_list:
            if name not in KNOWN_BACKENDS:
                raise ValueError(f"BRAINSTREAM_ACQUIRE_BACKENDS: unknown backend {name!r}; known: {KNOWN_BACKENDS}")
        if "slskd" in self.backend_list:
            for var, value in (
                ("BRAINSTREAM_SLSKD_URL", self.slskd_url),
                ("BRAINSTREAM_SLSKD_API_KEY", self.slskd_api_key),
                ("BRAINSTREAM_SLSKD_DOWNLOADS_DIR", self.slskd_downloads_dir),
            ):
                if not value:
                    raise ValueError(f"{var} is required when the slskd backend is enabled")
        return self

    @property
    def backend_list(self) -> list[str]:
        return [b.strip() for b in self.acquire_backends.split(",") if b.strip()]

    @property
    def staging(self) -> Path:
        return self.staging_dir or self.data_dir / "staging"

    @property
    def inbox(self) -> Path:
        return self.inbox_dir or self.data_dir / "inbox"

    @property
    def codecs(self) -> frozenset[str]:
        return frozenset(c.strip().lower() for c in self.allowed_codecs.split(",") if c.strip())
