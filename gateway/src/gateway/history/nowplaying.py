"""What ListenBrainz says each user is playing right now (`/1/user/{user}/playing-now`).

It is not a listen and is never stored: the History page asks while it is open. Answers are kept a short while per
user, so any number of open pages cost one ListenBrainz request per user and interval, through the client factory
with ListenBrainz's 1 request/s limiter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contracts.livesettings import UserAccounts
from infra.http import ApiClient, ExternalError

__all__ = ["PlayingNow"]


class PlayingNow:
    def __init__(self, client: ApiClient, accounts: Callable[[str], UserAccounts], ttl_s: float = 15.0) -> None:
        self.client = client
        self.accounts = accounts
        self.ttl_s = ttl_s
        self._seen: dict[str, tuple[float, dict[str, Any]]] = {}

    async def of(self, username: str) -> dict[str, Any]:
        """`{"playing": {artist, title, release} | None, "source": "listenbrainz"}`, or `{"error": …}`."""
        cached = self._seen.get(username)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        acc = self.accounts(username)
        if not acc.listenbrainz_user:
            return {"playing": None, "source": None, "note": "no ListenBrainz account set"}
        headers = {"Authorization": f"Token {acc.listenbrainz_token}"} if acc.listenbrainz_token else None
        try:
            body = await self.client.get_json(f"/1/user/{acc.listenbrainz_user}/playing-now", headers=headers)
        except ExternalError as exc:
            return {"playing": None, "source": "listenbrainz", "error": exc.reason}
        listens = ((body or {}).get("payload") or {}).get("listens") or []
        playing = None
        if listens:
            meta = listens[0].get("track_metadata") or {}
            playing = {
                "artist": meta.get("artist_name"),
                "title": meta.get("track_name"),
                "release": meta.get("release_name"),
            }
        answer = {"playing": playing, "source": "listenbrainz"}
        self._seen[username] = (time.monotonic(), answer)
        return answer
