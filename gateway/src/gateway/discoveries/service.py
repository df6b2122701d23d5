"""The Discoveries page's buttons as commands: keep, hate and restore a discovery of the asking user, and the user's
artist exclusion list. library-svc decides what a command does; these check only that it can make sense."""

from __future__ import annotations

import asyncio
import sqlite3
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

from litestar.exceptions import PermissionDeniedException
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.discovery import ArtistExcluded, DiscoveryRules, HateDiscovery, KeepDiscovery, RestoreDiscovery
from contracts.livesettings import PipelineSettings

from ..auth.users import Principal
from ..service import Conflict, Gateway, Invalid, Missing
from .navidrome import NavidromeMirror
from .queries import Pick, rules_in_force, user_discoveries, user_picks
from .rows import DiscoveryPickRow

__all__ = ["MAX_ARTIST", "MAX_ARTISTS", "Discoveries", "clean_artists"]

MAX_ARTISTS = 1000
MAX_ARTIST = 200


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold().strip()


def clean_artists(names: list[Any]) -> list[str]:
    """The list as it is saved: trimmed, each name once (compared folded), in the order given; or `Invalid` with
    the reason."""
    if len(names) > MAX_ARTISTS:
        raise Invalid(f"artists: at most {MAX_ARTISTS} names, got {len(names)}")
    out: list[str] = []
    seen: set[str] = set()
    for at, name in enumerate(names):
        if not isinstance(name, str):
            raise Invalid(f"artists[{at}]: a name is text")
        name = " ".join(name.split())
        if not name:
            raise Invalid(f"artists[{at}]: a blank name")
        if len(name) > MAX_ARTIST:
            raise Invalid(f"artists[{at}]: at most {MAX_ARTIST} characters")
        if any(unicodedata.category(c) == "Cc" for c in name):
            raise Invalid(f"artists[{at}]: control characters are not allowed")
        if _fold(name) not in seen:
            seen.add(_fold(name))
            out.append(name)
    return out


@dataclass
class Discoveries:
    engine: Engine
    gateway: Gateway
    pipeline: Any
    """() -> PipelineSettings: the live pipeline settings."""
    history: sqlite3.Connection | None = None
    mirror: NavidromeMirror | None = None

    def rules_for(self, user: str) -> DiscoveryRules:
        try:
            accounts = self.gateway.users.accounts(user)
        except KeyError:
            accounts = None
        pipeline: PipelineSettings = self.pipeline()
        return rules_in_force(pipeline, accounts)

    async def show(self, who: Principal, user: str | None) -> dict[str, Any]:
        target = user or who.username
        if target != who.username and not who.is_admin:
            raise PermissionDeniedException("only administrators see other people's discoveries")
        if user and self.gateway.users.get(target) is None:
            raise Missing(f"user {target}")
        rules = self.rules_for(target)
        shown = await asyncio.to_thread(user_discoveries, self.engine, target, rules, self.history)
        status = self.mirror.status.get(target) if self.mirror is not None else None
        shown["navidrome"] = asdict(status) if status is not None else None
        return shown

    def _mine(self, who: Principal, track_id: str) -> Pick:
        with Session(self.engine) as s:
            found = s.exec(
                select(DiscoveryPickRow.track_id)
                .where(col(DiscoveryPickRow.user) == who.username, col(DiscoveryPickRow.track_id) == track_id)
                .limit(1)
            ).first()
        if found is None:
            raise Missing(f"{track_id} is not one of your discoveries")
        return next(p for p in user_picks(self.engine, who.username) if p.track_id == track_id)

    async def keep(self, who: Principal, track_id: str) -> dict[str, Any]:
        pick = await asyncio.to_thread(self._mine, who, track_id)
        if pick.state in ("expired", "purged"):
            hint = "restore it from the trash" if pick.state == "expired" else "the trash was emptied of it"
            raise Conflict(f"{pick.artist} - {pick.title} is no longer in the library: {hint}", None)
        command = KeepDiscovery(track_id=track_id, user=who.username)
        await self.gateway.publish(command)
        return {"track_id": track_id, "requested": "keep", "command_id": str(command.event_id), "was": pick.state}

    async def hate(self, who: Principal, track_id: str) -> dict[str, Any]:
        pick = await asyncio.to_thread(self._mine, who, track_id)
        if pick.state in ("expired", "purged"):
            raise Conflict(f"{pick.artist} - {pick.title} is already out of the library ({pick.state})", None)
        command = HateDiscovery(track_id=track_id, user=who.username)
        await self.gateway.publish(command)
        return {"track_id": track_id, "requested": "hate", "command_id": str(command.event_id), "was": pick.state}

    async def restore(self, who: Principal, track_id: str) -> dict[str, Any]:
        pick = await asyncio.to_thread(self._mine, who, track_id)
        if pick.state == "purged":
            raise Conflict(
                f"{pick.artist} - {pick.title} cannot be restored: the trash was emptied of it on "
                f"{(pick.state_at or '')[:10]}; ask for it again on the Request page",
                None,
            )
        if pick.state != "expired":
            raise Conflict(f"{pick.artist} - {pick.title} is not in the trash (it is {pick.state})", None)
        command = RestoreDiscovery(track_id=track_id, user=who.username)
        await self.gateway.publish(command)
        return {"track_id": track_id, "requested": "restore", "command_id": str(command.event_id), "was": pick.state}

    def excluded_artists(self, who: Principal) -> list[str]:
        return list(self.gateway.users.accounts(who.username).excluded_artists)

    async def set_excluded_artists(self, who: Principal, names: list[Any]) -> list[str]:
        artists = clean_artists(names)
        await self.gateway.set_accounts(who, who.username, {"excluded_artists": artists})
        await self.gateway.publish(ArtistExcluded(artists=artists, user=who.username))
        return artists
