"""The one client factory for every outbound call of ingest-svc: User-Agent with the contact, timeouts, retries with
back-off, Retry-After / X-RateLimit-*, and one rate limiter per external service shared by all users."""

from __future__ import annotations

from dataclasses import dataclass, field

from infra.http import ApiClient, HttpSettings, IntervalLimiter

from ..settings import Settings

__all__ = ["Clients"]


@dataclass
class Clients:
    """The HTTP clients of one process, built once in the composition root and closed on shutdown."""

    listenbrainz: ApiClient
    lastfm: ApiClient
    spotify_api: ApiClient
    spotify_accounts: ApiClient
    listenbrainz_write: ApiClient
    """Submissions: the same rate budget as the reads, and no retry of its own (a timed-out POST may have landed;
    the forwarder asks the target before sending again)."""
    lastfm_write: ApiClient
    extra: list[ApiClient] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        settings: Settings,
        http: HttpSettings | None = None,
    ) -> Clients:
        http = http or HttpSettings()
        once = http.model_copy(update={"max_retries": 0})
        lb_limit = IntervalLimiter(settings.listenbrainz_min_interval_s)
        lastfm_limit = IntervalLimiter(settings.lastfm_min_interval_s)
        return cls(
            listenbrainz=ApiClient("listenbrainz", settings.listenbrainz_url, http, limiter=lb_limit),
            lastfm=ApiClient("lastfm", settings.lastfm_url, http, limiter=lastfm_limit),
            spotify_api=ApiClient("spotify", settings.spotify_api_url, http, limiter=IntervalLimiter(0.0)),
            spotify_accounts=ApiClient("spotify-accounts", settings.spotify_accounts_url, http),
            listenbrainz_write=ApiClient("listenbrainz", settings.listenbrainz_url, once, limiter=lb_limit),
            lastfm_write=ApiClient("lastfm", settings.lastfm_url, once, limiter=lastfm_limit),
        )

    async def aclose(self) -> None:
        for client in (
            self.listenbrainz,
            self.lastfm,
            self.spotify_api,
            self.spotify_accounts,
            self.listenbrainz_write,
            self.lastfm_write,
            *self.extra,
        ):
            await client.aclose()
