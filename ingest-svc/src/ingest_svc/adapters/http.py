"""The one client factory for every outbound call of ingest-svc: User-Agent with the contact, timeouts, retries with
back-off, Retry-After / X-RateLimit-*, and one rate limiter per external host, shared by all users, every replica and
every other service that calls that host (`infra.ratelimit`: bound to the NATS KV bucket once connected)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nats.js import JetStreamContext

from infra.http import ApiClient, HttpSettings, IntervalLimiter
from infra.ratelimit import HOSTS, KvSlotLimiter

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
    shared: list[KvSlotLimiter] = field(default_factory=list)
    """The cross-service limiters, bound to the `rate_limits` bucket by `bind` before the first request."""

    @classmethod
    def build(
        cls,
        settings: Settings,
        http: HttpSettings | None = None,
    ) -> Clients:
        http = http or HttpSettings()
        lb_interval = settings.listenbrainz_min_interval_s
        margin = settings.rate_margin_s if lb_interval > 0 else 0.0  # no limit asked for: no margin either
        lb = KvSlotLimiter.unbound(HOSTS["listenbrainz"], lb_interval, margin_s=margin)
        lastfm = KvSlotLimiter.unbound(HOSTS["lastfm"], settings.lastfm_min_interval_s)
        # forwarding sends once per attempt: a retry is the delivery's, after the ledger was checked
        once = http.model_copy(update={"max_retries": 0})
        return cls(
            listenbrainz=ApiClient("listenbrainz", settings.listenbrainz_url, http, limiter=lb),
            lastfm=ApiClient("lastfm", settings.lastfm_url, http, limiter=lastfm),
            spotify_api=ApiClient("spotify", settings.spotify_api_url, http, limiter=IntervalLimiter(0.0)),
            spotify_accounts=ApiClient("spotify-accounts", settings.spotify_accounts_url, http),
            listenbrainz_write=ApiClient("listenbrainz", settings.listenbrainz_url, once, limiter=lb),
            lastfm_write=ApiClient("lastfm", settings.lastfm_url, once, limiter=lastfm),
            shared=[lb, lastfm],
        )

    async def bind(self, js: JetStreamContext) -> None:
        for limiter in self.shared:
            await limiter.bind(js)

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
