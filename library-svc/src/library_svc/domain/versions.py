"""Change counters for cached read responses: the catalog's, and each user's stars/ratings/plays/playlists."""

from __future__ import annotations

import time
from collections import defaultdict

__all__ = ["Versions"]


class Versions:
    """Bumped by the writers of this process. `stamp()` also changes every `ttl_s`, so a write made by another
    replica (which cannot bump our counters) is seen after at most that long."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self.catalog = 0
        self.users: defaultdict[str, int] = defaultdict(int)
        self.ttl_s = ttl_s

    def bump_catalog(self) -> None:
        self.catalog += 1

    def bump_user(self, user: str) -> None:
        self.users[user] += 1

    def stamp(self, user: str) -> tuple[int, int, int]:
        return self.catalog, self.users.get(user, 0), int(time.monotonic() // self.ttl_s)
