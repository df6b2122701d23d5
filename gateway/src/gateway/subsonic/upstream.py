"""Where /rest goes: library-svc's built-in API (with X-Brainstream-User and the internal secret) or Navidrome (with
its own credentials)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.livesettings import PipelineSettings, UserAccounts
from infra.internal import INTERNAL_HEADER

from ..auth.crypto import SecretBox

__all__ = ["CLIENT_CREDENTIALS", "LiveNavidromeAccount", "Upstream", "UpstreamChooser", "UserNavidromeAccounts"]

log = logging.getLogger(__name__)

CLIENT_CREDENTIALS = frozenset({"u", "p", "t", "s", "apiKey"})
"""Never sent upstream: the gateway checked them; upstream trusts the gateway instead."""


@dataclass(frozen=True)
class Upstream:
    base_url: str
    navidrome: bool
    navidrome_user: str | None = None
    navidrome_password: str | None = field(default=None, repr=False)
    internal_secret: str | None = field(default=None, repr=False)
    """What admits the gateway to library-svc (see infra.internal)."""

    def url(self, method_path: str) -> str:
        return f"{self.base_url.rstrip('/')}/rest/{method_path}"

    def params(self, client: list[tuple[str, str]]) -> list[tuple[str, str]]:
        kept = [(k, v) for k, v in client if k not in CLIENT_CREDENTIALS]
        if not self.navidrome:
            return kept
        salt = secrets.token_hex(6)
        token = hashlib.md5(((self.navidrome_password or "") + salt).encode(), usedforsecurity=False).hexdigest()
        extra = [("u", self.navidrome_user or ""), ("t", token), ("s", salt)]
        names = {k for k, _ in kept}
        extra += [(k, d) for k, d in (("v", "1.16.1"), ("c", "brainstream")) if k not in names]
        return kept + extra

    def headers(self, user: str | None) -> dict[str, str]:
        if self.navidrome:
            return {}
        out = {INTERNAL_HEADER: self.internal_secret} if self.internal_secret else {}
        if user is not None:
            out["X-Brainstream-User"] = user
        return out


class UpstreamChooser:
    """The live setting (`pipeline.navidrome_url`) wins over the environment; neither: the built-in API.

    The Navidrome account likewise: a live user with a live password wins over the environment's pair."""

    def __init__(
        self,
        library_url: str,
        navidrome_url: str | None,
        navidrome_user: str | None,
        navidrome_password: str | None,
        live_navidrome_url: Callable[[], str | None] = lambda: None,
        live_navidrome_account: Callable[[], tuple[str, str] | None] = lambda: None,
        library_secret: str | None = None,
        user_account: Callable[[str], tuple[str, str] | None] = lambda _user: None,
    ) -> None:
        self._library = Upstream(library_url, navidrome=False, internal_secret=library_secret)
        self._user_account = user_account
        self._env_navidrome = navidrome_url
        self._user, self._password = navidrome_user, navidrome_password
        self._live = live_navidrome_url
        self._live_account = live_navidrome_account

    def current(self) -> Upstream:
        url = self._live() or self._env_navidrome
        if not url:
            return self._library
        user, password = self._live_account() or (self._user, self._password)
        return Upstream(url, navidrome=True, navidrome_user=user, navidrome_password=password)

    def for_user(self, username: str | None, upstream: Upstream | None = None) -> Upstream:
        """The upstream as `username` reaches it: with Navidrome, signed in as their own Navidrome account when they
        have one (what they make there is theirs), else as the gateway's."""
        upstream = upstream or self.current()
        if not upstream.navidrome or username is None:
            return upstream
        own = self._user_account(username)
        if own is None:
            return upstream
        return Upstream(upstream.base_url, navidrome=True, navidrome_user=own[0], navidrome_password=own[1])

    def own_account(self, username: str) -> tuple[str, str] | None:
        """The user's own Navidrome account, or None (never the gateway's)."""
        return self._user_account(username)


class LiveNavidromeAccount:
    """The Navidrome account of the live settings, its password opened once per change (not once per call)."""

    def __init__(self, pipeline: Callable[[], PipelineSettings], box: SecretBox) -> None:
        self._pipeline, self._box = pipeline, box
        self._sealed: str | None = None
        self._plain: str | None = None

    def __call__(self) -> tuple[str, str] | None:
        settings = self._pipeline()
        user, sealed = settings.navidrome_user, settings.navidrome_password_sealed
        if not (user and sealed):
            return None
        if sealed != self._sealed:
            self._sealed = sealed
            try:
                self._plain = self._box.open(sealed)
            except ValueError as exc:
                log.error("the live Navidrome password cannot be opened (%s); using the environment's account", exc)
                self._plain = None
        return (user, self._plain) if self._plain is not None else None


class UserNavidromeAccounts:
    """Each user's own Navidrome account (`UserAccounts.navidrome_user` and its sealed password), opened once per
    change: /rest asks on every call."""

    def __init__(self, accounts: Callable[[str], UserAccounts], box: SecretBox) -> None:
        self._accounts, self._box = accounts, box
        self._cache: dict[str, tuple[str, str] | None] = {}

    def forget(self, username: str) -> None:
        self._cache.pop(username, None)

    def __call__(self, username: str) -> tuple[str, str] | None:
        if username in self._cache:
            return self._cache[username]
        try:
            accounts = self._accounts(username)
        except KeyError:
            return None
        found: tuple[str, str] | None = None
        if accounts.navidrome_user and accounts.navidrome_password_sealed:
            try:
                found = (accounts.navidrome_user, self._box.open(accounts.navidrome_password_sealed))
            except ValueError as exc:
                log.error(
                    "the Navidrome password of %s cannot be opened (%s); using the gateway's account", username, exc
                )
        self._cache[username] = found
        return found
