"""Password hashing (argon2), secret encryption at rest (Fernet) and random secrets."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

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


class SecretBox:
    """Encrypts secrets the gateway must read back (app-passwords, account tokens)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted: wrong BRAINSTREAM_SECRET_KEY or key file?") from exc


def load_or_create_key(configured: str | None, key_file: Path) -> bytes:
    if configured:
        return configured.encode()
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    key_file.touch(mode=0o600)
    key_file.write_bytes(key)
    return key


def new_app_password() -> str:
    # letters and digits only: Subsonic clients send it in URLs and some do not escape it
    return secrets.token_hex(12)


def new_token() -> str:
    return "bst_" + secrets.token_urlsafe(32)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
