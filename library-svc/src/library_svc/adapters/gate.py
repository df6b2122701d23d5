"""The `discovery_gate` KV bucket, kept in step with the lifecycle's tombstones and pause (ingest-svc reads it)."""

from __future__ import annotations

import json
from typing import Self

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue

from contracts.discovery import DISCOVERY_BUCKET, pause_key, tombstone_key

__all__ = ["KvGate"]


class KvGate:
    """Opened by `bind` in the runtime's on-connect hook. A tombstone's value is JSON (reason, artist, track: so
    ingest-svc can weigh the artist down); `paused` holds the reason in words, as plain text."""

    def __init__(self) -> None:
        self._kv: KeyValue | None = None

    async def bind(self, js: JetStreamContext) -> Self:
        self._kv = await js.key_value(DISCOVERY_BUCKET)
        return self

    def _bucket(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError(f"KV bucket {DISCOVERY_BUCKET} used before the runtime connected")
        return self._kv

    async def _put(self, key: str, value: bytes) -> None:
        kv = self._bucket()
        try:
            current = await kv.get(key)
        except KeyNotFoundError:
            current = None
        if current is None or current.value != value:
            await kv.put(key, value)

    async def bury(self, user: str, mbid: str, value: dict[str, str]) -> None:
        await self._put(tombstone_key(user, mbid), json.dumps(value, sort_keys=True).encode())

    async def lift(self, user: str, mbid: str) -> None:
        await self._bucket().delete(tombstone_key(user, mbid))

    async def pause(self, reason: str) -> None:
        await self._put(pause_key(), reason.encode())  # the contract: the reason, in words

    async def resume(self) -> None:
        await self._bucket().delete(pause_key())

    async def sync(self, tombstones: dict[tuple[str, str], dict[str, str]], paused: str | None) -> tuple[int, int]:
        """Make the bucket hold exactly these tombstones and pause; returns (written, deleted)."""
        kv = self._bucket()
        try:
            present = set(await kv.keys())
        except NoKeysError:
            present = set()
        wanted = {tombstone_key(u, m): v for (u, m), v in tombstones.items()}
        deleted = 0
        for key in present - set(wanted) - ({pause_key()} if paused else set()):
            await kv.delete(key)
            deleted += 1
        for (user, mbid), value in tombstones.items():
            await self.bury(user, mbid, value)
        if paused:
            await self.pause(paused)
        return len(wanted), deleted
