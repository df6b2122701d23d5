"""Response cache per source in the `resolve_cache` KV bucket, so a track seen again costs no external request.

Values are JSON `{"t": stored_at, "v": value}`; each source has its own TTL (the bucket's own TTL is the upper bound).
Keys are `<source>.<sha1 of the request>`: KV keys allow only a small alphabet, and requests hold any text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

__all__ = ["KvCache", "RefreshCache", "cache_key"]

log = logging.getLogger(__name__)


def cache_key(source: str, *parts: str) -> str:
    digest = hashlib.sha1("\x1f".join(parts).encode(), usedforsecurity=False).hexdigest()
    return f"{source}.{digest}"


class KvCache:
    def __init__(self, kv: KeyValue, ttl_s: dict[str, float], default_ttl_s: float) -> None:
        self.kv = kv
        self.ttl_s = ttl_s
        self.default_ttl_s = default_ttl_s
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> Any | None:
        try:
            entry = await self.kv.get(key)
        except KeyNotFoundError:
            self.misses += 1
            return None
        try:
            doc = json.loads(entry.value or b"")
        except ValueError:
            log.warning("cache entry %s is not JSON; ignoring it", key)
            self.misses += 1
            return None
        ttl = self.ttl_s.get(key.split(".", 1)[0], self.default_ttl_s)
        if time.time() - float(doc.get("t", 0)) > ttl:
            self.misses += 1
            return None
        self.hits += 1
        return doc.get("v")

    async def put(self, key: str, value: Any) -> None:
        await self.kv.put(key, json.dumps({"t": time.time(), "v": value}, separators=(",", ":")).encode())

    async def through(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value, or `load()`'s, stored. A `None` from load is stored too: "not found" is an answer."""
        cached = await self.get(key)
        if cached is not None:
            return cached["x"]
        value = await load()
        await self.put(key, {"x": value})
        return value


class RefreshCache(KvCache):
    """Reads nothing and writes through: a retry asks the source again and stores what it says now."""

    async def get(self, key: str) -> Any | None:
        self.misses += 1
        return None
