"""Password hashing (argon2), secret encryption at rest (Fernet, from infra.secretbox) and random secrets."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from infra.secretbox import SecretBox, load_or_create_key  # one key and one box for the gateway and the KV

__all__ = ["Passwords", "SecretBox", "digest", "load_or_create_key", "new_app_password", "new_token"]


class Passwords:
    def __init__(self) -> None:
        self._hasher = PasswordHasher()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def new_app_password() -> str:
    # letters and digits only: Subsonic clients send it in URLs and some do not escape it
    return secrets.token_hex(12)


def new_token() -> str:
    return "bst_" + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
