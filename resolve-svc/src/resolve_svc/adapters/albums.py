"""The album each release group got, in the `resolve_albums` KV bucket: durable and shared by every replica.

The first track of a release group to be resolved fixes its album's name, year and cover with an atomic create; a
replica that loses the race reads the winner's choice, so two tracks resolved at once still land in one album.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

__all__ = ["KvAlbumMemory"]

log = logging.getLogger(__name__)


class KvAlbumMemory:
    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.joined = 0
        """Tracks that joined an album already chosen (for health and tests)."""

    async def get(self, release_group_mbid: str) -> dict[str, Any] | None:
        try:
            entry = await self.kv.get(release_group_mbid)
        except KeyNotFoundError:
            return None
        try:
            value = json.loads(entry.value or b"null")
        except ValueError:
            log.warning("resolve_albums %s holds no JSON; choosing its album again", release_group_mbid)
            return None
        return value if isinstance(value, dict) else None

    async def claim(self, release_group_mbid: str, album: dict[str, Any]) -> dict[str, Any]:
        """Store `album` unless the release group has one already; return the one that holds."""
        try:
            await self.kv.create(release_group_mbid, json.dumps(album, sort_keys=True).encode())
        except KeyWrongLastSequenceError:
            existing = await self.get(release_group_mbid)
            if existing is not None:
                return existing
            await self.kv.put(release_group_mbid, json.dumps(album, sort_keys=True).encode())  # it held garbage
        return album
