"""Subsonic authentication, all of it in the gateway: token+salt, `p=` (plain or `enc:` hex), OpenSubsonic apiKey.

Error codes (Subsonic / OpenSubsonic): 10 a required parameter is missing, 40 wrong user or password, 41 token
authentication not supported, 42 the mechanism is not supported, 43 several conflicting mechanisms, 44 invalid API key.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["AuthFailure", "AuthPolicy", "authenticate"]


@dataclass(frozen=True)
class AuthFailure:
    code: int
    message: str

    @property
    def counts_as_guess(self) -> bool:
        """A wrong secret (not a malformed request) counts towards slowing the address down."""
        return self.code in (40, 44)


@dataclass(frozen=True)
class AuthPolicy:
    allow_plain: bool = True
    allow_token: bool = True


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def authenticate(
    params: Mapping[str, str],
    password_of: Callable[[str], str | None],
    user_of_key: Callable[[str], str | None],
    policy: AuthPolicy,
) -> str | AuthFailure:
    """The authenticated user name, or why not."""
    user, password, token, salt, key = (params.get(k) for k in ("u", "p", "t", "s", "apiKey"))
    if key is not None:
        if user is not None or password is not None or token is not None or salt is not None:
            return AuthFailure(43, "Multiple conflicting authentication mechanisms provided: apiKey with u, p or t")
        found = user_of_key(key)
        return found if found is not None else AuthFailure(44, "Invalid API key")
    if password is not None and (token is not None or salt is not None):
        return AuthFailure(43, "Multiple conflicting authentication mechanisms provided: p with t/s")
    if not user:
        return AuthFailure(10, "Required parameter is missing: u")
    if token is not None or salt is not None:
        if not policy.allow_token:
            return AuthFailure(41, "Token authentication not supported here; use apiKey")
        if not token or not salt:
            return AuthFailure(10, "Required parameter is missing: both t and s are needed")
        secret = password_of(user)
        expected = hashlib.md5((secret or "\x00").encode() + salt.encode(), usedforsecurity=False).hexdigest()
        if secret is None or not _eq(expected, token.lower()):
            return AuthFailure(40, "Wrong username or password")
        return user
    if password is not None:
        if not policy.allow_plain:
            return AuthFailure(42, "Provided authentication mechanism not supported: use token+salt or apiKey")
        if password.startswith("enc:"):
            try:
                password = bytes.fromhex(password[4:]).decode()
            except ValueError:
                return AuthFailure(40, "Wrong username or password")
        secret = password_of(user)
        if secret is None or not _eq(secret, password):
            return AuthFailure(40, "Wrong username or password")
        return user
    return AuthFailure(10, "Required parameter is missing: t and s, p, or apiKey")
