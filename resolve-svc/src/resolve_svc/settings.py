"""Settings of resolve-svc (environment prefix BRAINSTREAM_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from infra.runtime import RuntimeSettings

__all__ = ["Settings"]


def _env(name: str) -> AliasChoices:
    return AliasChoices(f"BRAINSTREAM_{name}")


class Settings(RuntimeSettings):
    max_workers: int = Field(default=32, ge=1, le=256, validation_alias=AliasChoices("BRAINSTREAM_RESOLVE_WORKERS"))
    """Candidates resolved at once per consumer in one process. Many in flight is what lets ListenBrainz metadata
    go out in batches; the external rate limits, not this number, bound the request rate."""
    fetch_batch: int = Field(default=64, ge=1, le=1000, validation_alias=_env("RESOLVE_FETCH_BATCH"))
    """Unused while `max_workers` is above 1: a process pulls one message per free worker (infra.runtime.puller)."""

    musicbrainz_url: str = Field(default="https://musicbrainz.org", validation_alias=_env("MUSICBRAINZ_URL"))
    """MusicBrainz WS/2 base URL (a mirror of your own works too; raise the rate then)."""
    listenbrainz_url: str = Field(default="https://api.listenbrainz.org", validation_alias=_env("LISTENBRAINZ_URL"))
    """ListenBrainz API base URL."""
    itunes_url: str = Field(default="https://itunes.apple.com", validation_alias=_env("ITUNES_URL"))
    """iTunes Search API base URL."""
    deezer_url: str = Field(default="https://api.deezer.com", validation_alias=_env("DEEZER_URL"))
    """Deezer API base URL."""
    coverartarchive_url: str = Field(
        default="https://coverartarchive.org", validation_alias=_env("COVERARTARCHIVE_URL")
    )
    """Cover Art Archive base URL."""

    musicbrainz_rate: float = Field(default=1.0, gt=0, validation_alias=_env("MUSICBRAINZ_RATE"))
    """MusicBrainz requests per second, shared by every replica (1 for musicbrainz.org; more for a mirror)."""
    listenbrainz_rate: float = Field(default=1.0, gt=0, validation_alias=_env("LISTENBRAINZ_RATE"))
    """ListenBrainz requests per second, shared by every replica."""
    itunes_rate: float = Field(default=20 / 60, gt=0, validation_alias=_env("ITUNES_RATE"))
    """iTunes searches per second (about 20 a minute), shared by every replica; past it a track is deferred, never
    given another store's album."""
    deezer_rate: float = Field(default=10.0, gt=0, validation_alias=_env("DEEZER_RATE"))
    """Deezer requests per second (50 per 5 s, spread evenly), shared by every replica."""
    store_wait_s: float = Field(default=1.0, ge=0, validation_alias=_env("STORE_WAIT"))
    """A store slot sooner than this is waited for by the worker; a later one defers the track (its slot kept for
    it) and frees the worker for other tracks meanwhile."""
    store_max_queue_s: float = Field(default=600.0, gt=0, validation_alias=_env("STORE_MAX_QUEUE"))
    """The bound on one wait for a store: with a longer queue nothing is reserved and the track asks again after this
    long. A track that is still deferred on its last delivery takes the next source, with a note."""
    rate_margin_s: float = Field(default=0.1, ge=0, validation_alias=_env("RATE_MARGIN"))
    """Safety added to the spacing of requests to one host, absorbing network jitter and clock skew: to every gap for
    MusicBrainz and ListenBrainz (they refuse close pairs), spread over the window for iTunes and Deezer."""
    lb_batch_size: int = Field(default=50, ge=1, le=1000, validation_alias=_env("LB_BATCH_SIZE"))
    """Most recording MBIDs asked of ListenBrainz in one metadata request."""
    lb_batch_window_s: float = Field(default=0.1, ge=0, validation_alias=_env("LB_BATCH_WINDOW"))
    """How long the first MBID waits for others to share its ListenBrainz request."""

    cache_ttl_s: float = Field(default=30 * 86400.0, gt=0, validation_alias=_env("RESOLVE_CACHE_TTL"))
    """How long a cached external answer is reused (the resolve_cache bucket keeps entries at most 30 days)."""
    commercial_cache_ttl_s: float = Field(default=7 * 86400.0, gt=0, validation_alias=_env("COMMERCIAL_CACHE_TTL"))
    """How long iTunes/Deezer answers are reused (store catalogs change faster than MusicBrainz)."""
    max_distance: float = Field(default=0.2, ge=0, le=1, validation_alias=_env("MATCH_MAX_DISTANCE"))
    """A fuzzy match farther than this is published as unresolved with its top penalties."""
