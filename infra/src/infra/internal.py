"""The secret that admits the gateway, and nobody else, to library-svc's OpenSubsonic port.

library-svc's port trusts the user the gateway names in `X-Brainstream-User`, so only the gateway may call it.
Every call carries `X-Brainstream-Internal: <secret>`; library-svc answers 401 to any call without the right one.
The secret is `BRAINSTREAM_LIBRARY_API_SECRET`, else `$BRAINSTREAM_DATA_DIR/secrets/library-api.key`, made at
first start with mode 0600 (the gateway and library-svc of one `brainstream up` share the data dir; containers on
separate volumes get the same value from the environment).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from .secretfiles import create_secret_file, private_dir, read_secret_file

__all__ = ["INTERNAL_HEADER", "library_api_secret"]

INTERNAL_HEADER = "X-Brainstream-Internal"


def library_api_secret(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    path = private_dir(data_dir / "secrets") / "library-api.key"
    found = read_secret_file(path)
    if found is None:
        found = create_secret_file(path, secrets.token_hex(32).encode())
    return found.decode()
