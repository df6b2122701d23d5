"""The `library_owned` KV bucket, kept in step with the catalog."""

from __future__ import annotations

import json
from typing import Self

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, NoKeysError
from nats.js.kv import KeyValue

__all__ = ["KvOwnedIndex", "NoOwnedIndex"]

BUCKET = "library_owned"


class KvOwnedIndex:
    """Opened by `bind` in the runtime's on-connect hook (the connection exists only then)."""

    def __init__(self) -> None:
        self._kv: KeyValue | None = None

    async def bind(self, js: JetStreamContext) -> Self:
        self._kv = await js.key_value(BUCKET)
        return self

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError(f"KV bucket {BUCKET} used before the runtime connected")
        return self._kv

    async def put(self, recording_mbid: str, track_id: str, path: str) -> None:
        kv = await self._bucket()
        value = json.dumps({"track_id": track_id, "path": path}).encode()
        try:
            current = await kv.get(recording_mbid)
        except KeyNotFoundError:
            current = None
        if current is None or current.value != value:  # unchanged entries are not rewritten on every rescan
            await kv.put(recording_mbid, value)

    async def delete(self, recording_mbid: str) -> None:
        kv = await self._bucket()
        await kv.delete(recording_mbid)

    async def sync(self, owned: dict[str, tuple[str, str]]) -> tuple[int, int]:
        """Make the bucket hold exactly `owned` (MBID → track id, path), e.g. after the bucket was lost or the
        catalog was rebuilt. Returns (written, deleted)."""
        kv = await self._bucket()
        try:
            present = set(await kv.keys())
        except NoKeysError:
            present = set()
        deleted = 0
        for key in present - set(owned):
            await kv.delete(key)
            deleted += 1
        written = 0
        for mbid, (track_id, path) in owned.items():
            await self.put(mbid, track_id, path)
            written += 1
        return written, deleted


class NoOwnedIndex:
    """For tools and benchmarks that run without NATS."""

    async def put(self, recording_mbid: str, track_id: str, path: str) -> None:
        return None

    async def delete(self, recording_mbid: str) -> None:
        return None
