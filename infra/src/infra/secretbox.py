"""Secrets at rest: one Fernet key per installation, for `gateway.db` and for the secrets in the `settings` KV.

The key is `BRAINSTREAM_SECRET_KEY`, or the file `$BRAINSTREAM_DATA_DIR/gateway/secret.key` made at first start
(mode 0600). The gateway seals with it; ingest-svc opens the listening-service accounts with it. A KV value sealed
this way is `fernet:` followed by the Fernet token of the JSON document; a value that starts with `{` is a plain
document written before values were sealed, still read (the gateway seals it again at its next start).
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from .secretfiles import create_secret_file, read_secret_file

__all__ = [
    "SEALED_PREFIX", "KeySource", "SecretBox", "is_sealed", "key_file", "load_or_create_key", "open_document",
    "seal_document",
]  # fmt: skip

log = logging.getLogger(__name__)

SEALED_PREFIX = b"fernet:"


class SecretBox:
    """Encrypts secrets that must be read back (app-passwords, account tokens, the Navidrome password)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted: wrong BRAINSTREAM_SECRET_KEY or key file?") from exc


def key_file(data_dir: Path) -> Path:
    return data_dir / "gateway" / "secret.key"


def load_or_create_key(configured: str | None, path: Path) -> bytes:
    """The configured key, else the key file, made (0600) when missing; two processes at once agree on one."""
    if configured:
        return configured.encode()
    found = read_secret_file(path)
    if found is not None:
        return found
    return create_secret_file(path, Fernet.generate_key())


class KeySource:
    """The box of a service that only reads sealed values (ingest-svc): the key is looked up when first needed,
    so a key file the gateway makes after this service started is found."""

    def __init__(self, configured: str | None, path: Path) -> None:
        self._configured, self._path = configured, path
        self._box: SecretBox | None = None

    def __call__(self) -> SecretBox | None:
        if self._box is None:
            key = self._configured.encode() if self._configured else read_secret_file(self._path)
            if key is not None:
                self._box = SecretBox(key)
        return self._box


def is_sealed(value: bytes) -> bool:
    return value.startswith(SEALED_PREFIX)


def seal_document(box: SecretBox, document: bytes) -> bytes:
    return SEALED_PREFIX + box.seal(document.decode()).encode()


def open_document(box: SecretBox | None, value: bytes) -> bytes:
    """The JSON document of a KV value, sealed or (from before sealing) plain. Raises ValueError when it is sealed
    and there is no key or not the right one."""
    if not is_sealed(value):
        return value
    if box is None:
        raise ValueError("it is sealed and there is no key: set BRAINSTREAM_SECRET_KEY as the gateway has it")
    return box.open(value[len(SEALED_PREFIX) :].decode()).encode()
