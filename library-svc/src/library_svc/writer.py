"""library-svc is single-writer, with hot standbys: why, and the lease that makes it so.

Why not several writers: where a track goes is decided from the catalog and the disk together (a path another
recording holds gets a suffix; an unrelated file already there is never overwritten), and the file is then renamed
into place. Two writers deciding at once could both find a path free and the second rename would replace the first
file. The catalog with its stream position is one transaction, but the folder is not. One writer keeps the
library's promise; a standby that takes over within the lease TTL keeps it available. Reads (the OpenSubsonic API)
scale by the catalog database, not by writers.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import IO

import nats
from nats.js.errors import BucketNotFoundError

from infra.lease import LEASE_BUCKET, KvLease, LeaseLost
from infra.runtime import ServiceRuntime

from . import SERVICE
from .settings import Settings

__all__ = ["WRITER_KEY", "become_writer", "keep_writing"]

log = logging.getLogger(__name__)

WRITER_KEY = "writer.library-svc"
_HELD: list[IO[bytes]] = []


def _identity(settings: Settings) -> tuple[str, Path | None]:
    """Who this process is as a writer, and the lock file that keeps that identity to one live process.

    A process restarted in the same replica slot (`brainstream up` sets BRAINSTREAM_REPLICA_SLOT; a container keeps
    its host name) on the same data directory is the same writer: it takes its lease back at once instead of waiting
    out the TTL of the one that crashed. The lock (released by the kernel when a process dies) makes a second live
    process with that identity wait as a standby instead of writing alongside.
    """
    slot = os.environ.get("BRAINSTREAM_REPLICA_SLOT")
    if not slot:
        return f"{SERVICE}-{os.getpid()}-{uuid.uuid4().hex[:6]}", None
    data = settings.data_dir.resolve()
    return f"{SERVICE}@{socket.gethostname()}:{data}:{slot}", data / "run" / f"writer-{slot.replace('#', '-')}.lock"


def _lock(path: Path) -> IO[bytes] | None:
    """The slot's lock, or None while another live process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


async def _wait_for_lock(path: Path) -> IO[bytes]:
    while True:  # until the live process of this slot is gone
        lock = _lock(path)
        if lock is not None:
            return lock
        await asyncio.sleep(1.0)


async def become_writer(settings: Settings) -> KvLease:
    """Block until this process holds the writer lease; a second process waits here as the hot standby."""
    holder, lock_path = _identity(settings)
    if lock_path is not None:
        _HELD.append(await _wait_for_lock(lock_path))  # held, open, for the life of the process
    nc = await nats.connect(
        settings.nats_url.split(","),
        name=f"{holder}-standby",
        max_reconnect_attempts=-1,
        **settings.nats_credentials.connect_options(),  # the same sign-in as the service's own connection
    )
    try:
        try:
            lease = await KvLease.open(nc.jetstream(), WRITER_KEY, holder, settings.writer_lease_s)
        except BucketNotFoundError as exc:
            raise SystemExit(
                f"the KV bucket {LEASE_BUCKET!r} is missing: run `brainstream provision` (or set "
                "BRAINSTREAM_LIBRARY_LEASE=0 to run one library-svc without a lease)"
            ) from exc
        await lease.acquire()
    finally:
        await nc.close()
    log.info("%s holds the writer lease (TTL %.0fs)", holder, settings.writer_lease_s)
    return lease


async def keep_writing(runtime: ServiceRuntime, lease: KvLease, key: str) -> None:
    """Renew the lease on the service's own connection; stop the service the moment it is lost."""
    lease.kv = await runtime.js.key_value(LEASE_BUCKET)
    try:
        await lease.keep()
    except LeaseLost as exc:
        log.error("%s: %s; stopping so that only one process writes", runtime.instance, exc)
        runtime.request_stop()
    except asyncio.CancelledError:
        await asyncio.shield(lease.release())  # a clean stop: the standby need not wait out the TTL
        raise
