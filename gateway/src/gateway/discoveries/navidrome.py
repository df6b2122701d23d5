"""The user's discovery playlists in Navidrome, when Navidrome serves /rest.

library-svc keeps "Discoveries 2026-W49" and the rolling "Discoveries" in the built-in server. Navidrome has its own
playlists, so the gateway makes the same ones there, through Navidrome's Subsonic API signed in as the user's own
Navidrome account (`UserAccounts.navidrome_user`): they are that user's playlists, never the administrator's. A user
without an account of their own gets none there (and the page says why) rather than playlists owned by the gateway's
account.

A library track is found in Navidrome by its recording MBID (`search3`, `musicBrainzId`), else by artist and title;
one Navidrome has not scanned yet is left out and looked for again on the next round. A playlist is rewritten only
when its songs differ (`createPlaylist` with `playlistId` replaces them).
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ..subsonic.upstream import Upstream, UpstreamChooser
from .queries import Pick, user_picks
from .rows import DiscoveryPickRow, NavidromeSongRow

__all__ = ["MirrorStatus", "NavidromeMirror", "wanted_playlists"]

log = logging.getLogger(__name__)
ROLLING = "Discoveries"
_CLIENT = "brainstream-discoveries"


def wanted_playlists(picks: list[Pick]) -> dict[str, list[str]]:
    """Playlist name → track ids in order: each week's picks still in the library, in their order of arrival, and
    the rolling playlist of every pick not kept or expired yet (oldest first, each track once)."""
    weeks: dict[str, list[str]] = {}
    for p in sorted(picks, key=lambda p: (p.week, p.position, p.track_id)):
        ids = weeks.setdefault(f"Discoveries {p.week}", [])
        if p.state not in ("expired", "purged") and p.track_id not in ids:
            ids.append(p.track_id)
    rolling: list[str] = []
    for p in sorted(picks, key=lambda p: (p.added_at or "", p.week, p.position)):
        if p.state == "active" and p.track_id not in rolling:
            rolling.append(p.track_id)
    return {**weeks, ROLLING: rolling}


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class SubsonicRefused(RuntimeError):
    pass


@dataclass
class MirrorStatus:
    """The last round for one user, as the API shows it."""

    state: str
    """`synced`, `waiting` (songs Navidrome has not scanned yet), `no_account` or `failed`."""
    detail: str = ""
    at: str = ""
    playlists: dict[str, int] = field(default_factory=dict)
    """Name → songs in it."""


class NavidromeMirror:
    def __init__(self, engine: Engine, chooser: UpstreamChooser, http: Callable[[], aiohttp.ClientSession]) -> None:
        self._engine, self._chooser, self._http = engine, chooser, http
        self._dirty: set[str] = set()
        self._all = True  # the first round looks at every user with discoveries
        self.status: dict[str, MirrorStatus] = {}
        self._lock = asyncio.Lock()
        self.wake = asyncio.Event()
        """Set when a user's discoveries change: the next round comes at once, not at the next interval."""

    def touched(self, users: frozenset[str] | set[str]) -> None:
        self._dirty |= set(users)
        self.wake.set()

    def everyone(self) -> None:
        """Look at every user again (Navidrome was switched on, or an account changed)."""
        self._all = True

    async def round(self) -> int:
        """Bring the playlists of every user whose discoveries changed (or still wait for songs) up to date."""
        async with self._lock:
            if not self._chooser.current().navidrome:
                self._dirty.clear()
                self._all = True  # when Navidrome comes, everyone's playlists are made there
                return 0
            if self._all:
                self._all = False
                self._dirty |= await asyncio.to_thread(self._users_with_picks)
            users, self._dirty = sorted(self._dirty), set()
            done = 0
            for user in users:
                try:
                    status = await self.sync(user)
                except (aiohttp.ClientError, TimeoutError, SubsonicRefused, ValueError) as exc:
                    log.warning("discovery playlists of %s not mirrored to Navidrome: %s", user, exc)
                    status = MirrorStatus("failed", str(exc))
                status.at = datetime.now(UTC).isoformat()
                self.status[user] = status
                if status.state in ("waiting", "failed"):
                    self._dirty.add(user)  # looked at again next round
                done += status.state in ("synced", "waiting")
            return done

    def _users_with_picks(self) -> set[str]:
        with Session(self._engine) as s:
            return set(s.exec(select(DiscoveryPickRow.user).distinct()).all())

    async def sync(self, user: str) -> MirrorStatus:
        base = self._chooser.current()
        if not base.navidrome:
            return MirrorStatus("builtin", "the built-in server keeps the discovery playlists")
        own = self._chooser.own_account(user)
        if own is None:
            return MirrorStatus(
                "no_account",
                "no Navidrome account of this user's own is set (Users page): their discovery playlists are not "
                "made in Navidrome, since the gateway's account would own them",
            )
        upstream = Upstream(base.base_url, navidrome=True, navidrome_user=own[0], navidrome_password=own[1])
        picks = await asyncio.to_thread(user_picks, self._engine, user)
        wanted = wanted_playlists(picks)
        songs = await self._songs(upstream, [p for p in picks if p.state not in ("expired", "purged")])
        existing = await self._playlists(upstream, own[0])
        made: dict[str, int] = {}
        for name, ids in wanted.items():
            song_ids = [songs[i] for i in ids if i in songs]
            found = existing.get(name)
            if found is None and not song_ids:
                continue
            if found is not None:
                current = await self._entries(upstream, found)
                if current == song_ids:
                    made[name] = len(song_ids)
                    continue
                params = [("playlistId", found)]
            else:
                params = [("name", name)]
            await self._call(upstream, "createPlaylist", params + [("songId", s) for s in song_ids])
            made[name] = len(song_ids)
        missing = sorted({i for ids in wanted.values() for i in ids} - set(songs))
        if missing:
            return MirrorStatus("waiting", f"{len(missing)} track(s) not scanned by Navidrome yet", playlists=made)
        return MirrorStatus("synced", playlists=made)

    async def _songs(self, upstream: Upstream, picks: list[Pick]) -> dict[str, str]:
        """Library track id → Navidrome song id, for the picks Navidrome has (found ones are remembered)."""
        ids = {p.track_id for p in picks}

        def known() -> dict[str, str]:
            with Session(self._engine) as s:
                rows = s.exec(select(NavidromeSongRow).where(col(NavidromeSongRow.track_id).in_(ids))).all()
                return {r.track_id: r.song_id for r in rows}

        found = await asyncio.to_thread(known)
        new: dict[str, str] = {}
        for p in picks:
            if p.track_id in found or p.track_id in new:
                continue
            song = await self._find(upstream, p)
            if song is not None:
                new[p.track_id] = song
        if new:

            def remember() -> None:
                with Session(self._engine) as s:
                    for track_id, song_id in new.items():
                        s.merge(NavidromeSongRow(track_id=track_id, song_id=song_id, found_at=datetime.now(UTC)))
                    s.commit()

            await asyncio.to_thread(remember)
        return found | new

    async def _find(self, upstream: Upstream, p: Pick) -> str | None:
        for query in (p.recording_mbid, f"{p.artist} {p.title}", p.title):
            body = await self._call(
                upstream, "search3", [("query", query), ("songCount", "20"), ("artistCount", "0"), ("albumCount", "0")]
            )
            for song in (body.get("searchResult3") or {}).get("song") or []:
                if str(song.get("musicBrainzId") or "") == p.recording_mbid:
                    return str(song["id"])
                same = _fold(str(song.get("title") or "")) == _fold(p.title) and _fold(
                    str(song.get("artist") or "")
                ) == _fold(p.artist)
                if (
                    same
                    and (not song.get("musicBrainzId"))
                    and (not p.album or _fold(str(song.get("album") or "")) == _fold(p.album))
                ):
                    return str(song["id"])
        return None

    async def _playlists(self, upstream: Upstream, owner: str) -> dict[str, str]:
        """The user's own playlists by name (another user's public playlist of the same name is not theirs)."""
        body = await self._call(upstream, "getPlaylists", [])
        out: dict[str, str] = {}
        for pl in (body.get("playlists") or {}).get("playlist") or []:
            if pl.get("owner") == owner and pl.get("name") and pl["name"] not in out:
                out[str(pl["name"])] = str(pl["id"])
        return out

    async def _entries(self, upstream: Upstream, playlist_id: str) -> list[str]:
        body = await self._call(upstream, "getPlaylist", [("id", playlist_id)])
        return [str(e["id"]) for e in (body.get("playlist") or {}).get("entry") or []]

    async def _call(self, upstream: Upstream, method: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        query = upstream.params([*params, ("f", "json"), ("v", "1.16.1"), ("c", _CLIENT)])
        async with self._http().get(
            upstream.url(method), params=query, headers={"Accept-Encoding": "identity"}
        ) as resp:
            if resp.status != 200:
                raise SubsonicRefused(f"Navidrome answered HTTP {resp.status} to {method}")
            body = await resp.json(content_type=None)
        answer = body.get("subsonic-response") if isinstance(body, dict) else None
        if not isinstance(answer, dict):
            raise SubsonicRefused(f"Navidrome did not answer {method} as a Subsonic server")
        if answer.get("status") != "ok":
            err = answer.get("error") or {}
            raise SubsonicRefused(f"Navidrome refused {method}: {err.get('message')} (error {err.get('code')})")
        return answer
