"""Keeps and hates made in Navidrome: with Navidrome serving /rest, library-svc never sees a star, a rating or a
playlist made there, so the proxy tells this module of each one relayed, and a mark on one of the user's active
discoveries becomes the command library-svc would have decided on itself: `KeepDiscovery` (starred, rated at least
the user's `keep_rating`, added to a playlist of their own) or `HateDiscovery` (rated 1)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.base import Message
from contracts.discovery import DiscoveryRules, HateDiscovery, KeepDiscovery, KeepReason

from .queries import user_picks
from .rows import NavidromeSongRow

__all__ = ["NavidromeMarks"]

log = logging.getLogger(__name__)


class NavidromeMarks:
    def __init__(
        self,
        engine: Engine,
        publish: Callable[[Message], Awaitable[Any]],
        rules_for: Callable[[str], DiscoveryRules],
    ) -> None:
        self._engine, self._publish, self._rules_for = engine, publish, rules_for

    def _active(self, user: str, song_ids: list[str]) -> dict[str, str]:
        """Navidrome song id → library track id, for those songs that are active discoveries of the user."""
        with Session(self._engine) as s:
            rows = s.exec(select(NavidromeSongRow).where(col(NavidromeSongRow.song_id).in_(song_ids))).all()
            tracks = {r.song_id: r.track_id for r in rows}
        if not tracks:
            return {}
        active = {p.track_id for p in user_picks(self._engine, user) if p.state == "active"}
        return {song: track for song, track in tracks.items() if track in active}

    async def __call__(self, user: str, method: str, params: list[tuple[str, str]]) -> None:
        first = {k: v for k, v in reversed(params)}
        commands: list[Message] = []
        if method == "star":
            songs = [v for k, v in params if k == "id"]
            found = await asyncio.to_thread(self._active, user, songs)
            commands = [
                KeepDiscovery(track_id=t, user=user, reason=KeepReason.STARRED, detail="starred in Navidrome")
                for t in found.values()
            ]
        elif method == "setRating":
            try:
                rating = int(first.get("rating", ""))
            except ValueError:
                return
            found = await asyncio.to_thread(self._active, user, [first.get("id", "")])
            keep_at = self._rules_for(user).keep_rating or 3
            for track in found.values():
                if rating == 1:
                    commands.append(HateDiscovery(track_id=track, user=user, how="rating"))
                elif rating >= keep_at:
                    commands.append(
                        KeepDiscovery(track_id=track, user=user, reason=KeepReason.RATED, detail=f"rated {rating}")
                    )
        else:  # createPlaylist / updatePlaylist: the songs added to a playlist of the user's own
            name = first.get("name", "")
            if name.startswith("Discoveries"):
                return  # the discovery playlists themselves (a client re-saving one) keep nothing
            songs = [v for k, v in params if k in ("songId", "songIdToAdd")]
            found = await asyncio.to_thread(self._active, user, songs)
            where = f"in playlist {name}" if name else "added to a playlist in Navidrome"
            commands = [
                KeepDiscovery(track_id=t, user=user, reason=KeepReason.IN_PLAYLIST, detail=where)
                for t in found.values()
            ]
        for command in commands:
            await self._publish(command)
        if commands:
            log.info("%s by %s in Navidrome: %d discovery command(s)", method, user, len(commands))
