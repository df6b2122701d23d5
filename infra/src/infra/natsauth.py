"""How every BrainStream process signs in to NATS, and the embedded server's credentials.

The embedded nats-server (`brainstream up`) refuses clients without the user and password generated at its first
start into `$BRAINSTREAM_DATA_DIR/nats/auth.json` (mode 0600, so only the account that runs BrainStream reads it).
The runner hands them to its services in the environment (`BRAINSTREAM_NATS_USER`/`_PASSWORD`), and the
`brainstream` commands read the file when they talk to the embedded server of a running `brainstream up`.

With an external NATS (`NATS_URL`) the credentials are in the URL (`nats://user:password@host:4222`) or in the
settings below: a user and password, a token, or a `.creds` file (JWT and nkey). A URL is never printed with its
password (`redact`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
from nats.aio.client import Client

from .secretfiles import create_secret_file, read_secret_file

__all__ = [
    "EMBEDDED_USER", "NatsCredentials", "auth_file", "command_connection", "embedded_credentials", "redact",
    "without_credentials",
]  # fmt: skip

EMBEDDED_USER = "brainstream"


@dataclass(frozen=True)
class NatsCredentials:
    """One way to sign in, or none (credentials in the URL, or a server without auth)."""

    user: str | None = None
    password: str | None = None
    token: str | None = None
    creds_file: Path | None = None

    def __bool__(self) -> bool:
        return bool((self.user and self.password) or self.token or self.creds_file)

    def __repr__(self) -> str:  # a password never reaches a log line through a repr
        kind = "creds file" if self.creds_file else "token" if self.token else "user" if self.user else "none"
        return f"NatsCredentials({kind})"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> NatsCredentials:
        """`BRAINSTREAM_NATS_USER` + `_PASSWORD`, `BRAINSTREAM_NATS_TOKEN` or `BRAINSTREAM_NATS_CREDS`."""
        e = os.environ if env is None else env
        creds = e.get("BRAINSTREAM_NATS_CREDS") or None
        return cls(
            e.get("BRAINSTREAM_NATS_USER") or None,
            e.get("BRAINSTREAM_NATS_PASSWORD") or None,
            e.get("BRAINSTREAM_NATS_TOKEN") or None,
            Path(creds) if creds else None,
        )

    def connect_options(self) -> dict[str, Any]:
        """Keyword arguments for `nats.connect`."""
        if self.creds_file:
            return {"user_credentials": str(self.creds_file)}
        if self.token:
            return {"token": self.token}
        if self.user and self.password:
            return {"user": self.user, "password": self.password}
        return {}

    def broker_security(self) -> Any:
        """The same for FastStream's `NatsBroker(security=...)`; None without credentials."""
        from faststream.nats.security import NatsCredentials as CredsFile
        from faststream.nats.security import NatsToken, NatsUserPassword

        if self.creds_file:
            return CredsFile(str(self.creds_file))
        if self.token:
            return NatsToken(self.token)
        if self.user and self.password:
            return NatsUserPassword(self.user, self.password)
        return None

    def env(self) -> dict[str, str]:
        """The environment variables that give a child process these credentials."""
        out: dict[str, str] = {}
        if self.user and self.password:
            out |= {"BRAINSTREAM_NATS_USER": self.user, "BRAINSTREAM_NATS_PASSWORD": self.password}
        if self.token:
            out["BRAINSTREAM_NATS_TOKEN"] = self.token
        if self.creds_file:
            out["BRAINSTREAM_NATS_CREDS"] = str(self.creds_file)
        return out

    def server_config(self) -> str:
        """An `authorization` block for nats-server's configuration (user and password only)."""
        if not (self.user and self.password):
            raise ValueError("the embedded server is configured with a user and a password")
        return f"authorization {{\n  user: {json.dumps(self.user)}\n  password: {json.dumps(self.password)}\n}}\n"


async def command_connection(url: str, credentials: NatsCredentials, name: str, timeout: float = 10.0) -> Client:
    """The connection of a `brainstream` command. Once connected it reconnects after a server restart (`tail` goes
    on following). The first connect, though, ends at once when the server refuses the sign-in, and after `timeout`
    otherwise, with the server's own reason: nats-py would retry a refused sign-in forever, logging a traceback
    each time."""
    last: list[Exception] = []
    refused = asyncio.Event()

    async def note(exc: Exception) -> None:
        if refused.is_set():
            return  # the refusal is the reason; a reset of the refused connection is its aftermath
        last[:] = [exc]
        if "authorization" in str(exc).lower() or "authentication" in str(exc).lower():
            refused.set()

    connecting = asyncio.ensure_future(
        nats.connect(
            url.split(","),
            name=name,
            connect_timeout=3,
            max_reconnect_attempts=0,
            error_cb=note,
            **credentials.connect_options(),
        )
    )
    waiting = asyncio.ensure_future(refused.wait())
    await asyncio.wait({connecting, waiting}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if connecting.done():
        return connecting.result()
    connecting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await connecting
    if last:
        raise last[0]
    raise TimeoutError(f"no NATS server answered within {timeout:.0f} s")


def auth_file(nats_dir: Path) -> Path:
    return nats_dir / "auth.json"


def embedded_credentials(nats_dir: Path, *, create: bool = True) -> NatsCredentials | None:
    """The embedded server's user and password: read from `auth.json`, or made at first start (mode 0600).

    The password is hex: nats-py sends a URL's password as written, so it must need no escaping."""
    path = auth_file(nats_dir)
    raw = read_secret_file(path)
    if raw is None:
        if not create:
            return None
        made = json.dumps({"user": EMBEDDED_USER, "password": secrets.token_hex(24)}).encode()
        raw = create_secret_file(path, made)  # another process may have won the race: its file is the one
    data = json.loads(raw)
    return NatsCredentials(str(data["user"]), str(data["password"]))


def redact(url: str) -> str:
    """A NATS URL (or comma-separated list) fit to print: any password or token in it replaced by `***`."""
    return _rewrite(url, keep_user=True)


def without_credentials(url: str) -> str:
    """The URL with no user, password or token in it (for files other users may read)."""
    return _rewrite(url, keep_user=False)


def _rewrite(url: str, *, keep_user: bool) -> str:
    out = []
    for part in url.split(","):
        try:
            split = urlsplit(part.strip())
            host = split.hostname
        except ValueError:
            out.append("***")
            continue
        if split.username is None or host is None:
            out.append(part.strip())
            continue
        who = "***" if split.password is None else f"{split.username}:***"  # a lone user part is a token
        host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
        netloc = (f"{who}@" if keep_user else "") + host + (f":{split.port}" if split.port else "")
        out.append(urlunsplit((split.scheme, netloc, split.path, split.query, split.fragment)))
    return ",".join(out)
