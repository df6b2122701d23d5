"""The settings a use case reads at the moment it runs: environment settings overlaid with the live settings, so a
change in the `settings` KV bucket takes effect at the next run or poll without a restart."""

from __future__ import annotations

import time
from dataclasses import dataclass

from contracts.livesettings import UserAccounts
from infra.livesettings import LiveSettings

from .domain.sonos_config import SonosConfig, parse_speakers, parse_user_map
from .settings import Settings

__all__ = ["Config", "RunConfig"]


@dataclass(frozen=True)
class RunConfig:
    run_size: int
    cf_ratio: float
    cf_page_size: int
    cf_max_pages: int
    radio_mode: str
    radio_seed_artists: int
    radio_top_artists: int
    radio_stats_range: str
    playlists_ratio: float = 0.0
    """Share of the run taken from the user's generated playlists; CF and radio share the rest by `cf_ratio`."""


class Config:
    def __init__(self, settings: Settings, live: LiveSettings | None = None) -> None:
        self.settings = settings
        self.live = live

    def env_user(self) -> UserAccounts | None:
        s = self.settings
        if not (s.listenbrainz_user or s.lastfm_user or s.spotify_refresh_token):
            return None
        return UserAccounts(
            username=s.admin_user,
            listenbrainz_user=s.listenbrainz_user,
            listenbrainz_token=s.listenbrainz_token,
            lastfm_user=s.lastfm_user,
            lastfm_session_key=s.lastfm_session_key,
            spotify_client_id=s.spotify_client_id,
            spotify_client_secret=s.spotify_client_secret,
            spotify_refresh_token=s.spotify_refresh_token,
        )

    def users(self) -> dict[str, UserAccounts]:
        """Enabled users by BrainStream name.

        A live `user.<name>` document overrides the environment's user field by field: a field it leaves `None` keeps
        the environment's value, as every live setting does. (The gateway writes the first admin's document without
        accounts; that must not erase the ListenBrainz account a one-person setup gave in the environment.)
        """
        users: dict[str, UserAccounts] = {}
        env = self.env_user()
        if env is not None:
            users[env.username] = env
        if self.live is not None:
            for name, live in self.live.users.items():
                base = users.get(name)
                users[name] = live if base is None else base.model_copy(update=live.model_dump(exclude_none=True))
        return {name: acc for name, acc in users.items() if acc.enabled}

    @property
    def run_interval_s(self) -> float:
        live = self.live.pipeline.run_interval_s if self.live else None
        return live or self.settings.run_interval_s

    @property
    def listen_interval_s(self) -> float:
        return self.settings.listen_interval_s

    def run(self) -> RunConfig:
        p = self.live.pipeline if self.live else None
        s = self.settings
        return RunConfig(
            run_size=(p.run_size if p and p.run_size is not None else s.run_size),
            cf_ratio=(p.cf_ratio if p and p.cf_ratio is not None else s.cf_ratio),
            cf_page_size=s.cf_page_size,
            cf_max_pages=s.cf_max_pages,
            radio_mode=s.radio_mode,
            radio_seed_artists=s.radio_seed_artists,
            radio_top_artists=s.radio_top_artists,
            radio_stats_range=s.radio_stats_range,
            playlists_ratio=(p.playlists_ratio if p and p.playlists_ratio is not None else s.playlists_ratio),
        )

    def first_poll_from_ts(self) -> int:
        days = self.settings.listen_history_days
        return 0 if days <= 0 else int(time.time() - days * 86400)

    def sonos(self) -> SonosConfig:
        """The Sonos source's settings: a live `sonos_*` value replaces the environment's."""
        p = self.live.pipeline if self.live else None
        s = self.settings
        return SonosConfig(
            speakers=parse_speakers(p.sonos_speakers if p and p.sonos_speakers is not None else s.sonos_speakers),
            discover=p.sonos_discover if p and p.sonos_discover is not None else s.sonos_discover,
            interval_s=p.sonos_interval_s if p and p.sonos_interval_s is not None else s.sonos_interval_s,
            users=parse_user_map(p.sonos_users if p and p.sonos_users is not None else s.sonos_users),
            default_user=(p.sonos_default_user if p else None) or s.sonos_default_user or s.admin_user,
        )
