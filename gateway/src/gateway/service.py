"""Use cases of the gateway: the one place that turns HTTP intentions into pipeline commands and live settings."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

from contracts.base import Message
from contracts.common import TrackQuery
from contracts.gateway import RemoveTrack, RequestTrack, RetryTrack, SettingsChanged, StartRun
from contracts.livesettings import PipelineSettings, UserAccounts

from .adapters.kv import RequestGate, SettingsStore
from .auth.users import Principal, Users
from .gatekey import request_key
from .readmodel.queries import Scope, View, letter_ids

__all__ = ["Conflict", "Gateway", "Invalid", "Missing", "Publisher", "Redrive", "Unavailable"]


class Publisher(Protocol):
    async def __call__(self, event: Message) -> Any: ...


Redrive = Callable[[list[int]], Awaitable[tuple[int, dict[int, str]]]]
"""Re-drive dead letters by id, as `brainstream dlq redrive` does: (messages put back, failures by letter id)."""


class Conflict(Exception):
    def __init__(self, message: str, existing: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.existing = existing
        """The request that won, or None when the asker may not see it (another user's)."""


class Invalid(ValueError):
    pass


class Missing(LookupError):
    pass


class Unavailable(RuntimeError):
    """The bus could not do what was asked; try again."""


@dataclass
class Gateway:
    publish: Publisher
    gate: RequestGate
    settings: SettingsStore
    users: Users
    view: View
    redrive: Redrive | None = None
    accounts_changed: list[Callable[[str], None]] = field(default_factory=list)
    """Told the user name whenever a user's accounts change (caches of them forget it)."""
    _recent: dict[str, float] = field(default_factory=dict)
    """Journeys asked for through this process lately; their page waits for the read model instead of a 404."""

    def requested_lately(self, track_id: str, within_s: float = 600.0) -> bool:
        at = self._recent.get(track_id)
        return at is not None and time.monotonic() - at < within_s

    def _remember(self, track_id: str) -> None:
        self._recent[track_id] = time.monotonic()
        while len(self._recent) > 1000:
            self._recent.pop(next(iter(self._recent)))

    # requests -------------------------------------------------------------------------------------------------

    async def request_track(self, who: Principal, query: TrackQuery, url: str | None) -> dict[str, Any]:
        if not (query.recording_mbid or url or (query.artist and query.title)):
            raise Invalid("give a recording MBID, or artist and title (album optional), or a URL")
        request_id, correlation = uuid4(), uuid4()
        record = {
            "request_id": str(request_id),
            "track_id": str(correlation),
            "user": who.username,
            "recording_mbid": str(query.recording_mbid) if query.recording_mbid else None,
            "artist": query.artist,
            "title": query.title,
            "album": query.album,
            "url": url,
            "requested_at": datetime.now(UTC).isoformat(),
        }
        existing = await self.gate.claim(request_key(query, url), record)
        if existing is not None:
            # another user's request is theirs: its user name, URL and ids are not shown to the asker
            mine = existing.get("user") == who.username or who.is_admin
            raise Conflict("already requested", existing if mine else None)
        await self.publish(
            RequestTrack(request_id=request_id, query=query, url=url, user=who.username, correlation_id=correlation)
        )
        self._remember(str(correlation))
        return record

    # tracks ---------------------------------------------------------------------------------------------------

    async def retry(self, who: Principal, track_id: str, rematch: UUID | None) -> str:
        """Retry a journey: its dead letters are re-driven when it has any (the message goes back exactly as it
        was), otherwise the request is asked again. Returns `redriven` or `requested`."""
        track = self.view.track(Scope(who.username, who.is_admin), track_id)
        if track is None:
            raise Missing(track_id)
        if track.state not in ("failed", "skipped", "removed") and rematch is None:
            raise Invalid(f"track is {track.state}; only failed, skipped or removed tracks are retried")
        letters = letter_ids(track)
        if letters and rematch is None and self.redrive is not None:
            published, failed = await self.redrive(letters)
            if published:
                return "redriven"
            if any(why != "no such dead letter" for why in failed.values()):
                raise Unavailable("; ".join(f"#{i}: {why}" for i, why in failed.items()))
            # every letter was re-driven or dropped elsewhere meanwhile: ask again instead
        query = TrackQuery.model_validate_json(track.query_json) if track.query_json else TrackQuery()
        if track.recording_mbid and not query.recording_mbid:
            query = query.model_copy(update={"recording_mbid": UUID(track.recording_mbid)})
        await self.publish(
            RetryTrack(
                correlation_id=UUID(track.id),
                user=track.user,
                recording_mbid=UUID(track.recording_mbid) if track.recording_mbid else None,
                query=query,
                rematch_mbid=rematch,
            )
        )
        return "requested"

    async def remove(self, who: Principal, track_id: str) -> str:
        track = self.view.track(Scope(who.username, who.is_admin), track_id)
        if track is None:
            raise Missing(track_id)
        if not track.library_track_id or track.state == "removed":
            raise Invalid(f"track is {track.state}: it is not in the library")
        await self.publish(RemoveTrack(correlation_id=UUID(track.id), user=track.user, track_id=track.library_track_id))
        return track.library_track_id

    async def start_run(self, who: Principal, user: str | None) -> UUID:
        target = user or who.username
        if target != who.username and not who.is_admin:
            raise Invalid("only administrators start runs for someone else")
        if self.users.get(target) is None:
            raise Missing(target)
        command = StartRun(user=target)
        await self.publish(command)
        return command.event_id

    # settings -------------------------------------------------------------------------------------------------

    async def update_pipeline(self, who: Principal, changes: dict[str, Any]) -> PipelineSettings:
        current = await self.settings.pipeline()
        # validated from plain values: a nested setting (`discovery`, `stream_defaults`) arrives as a dict
        updated = PipelineSettings.model_validate(current.model_dump() | changes)
        await self.settings.put_pipeline(updated)
        # the sealed Navidrome password stays out of the event: only that it changed
        values = json.loads(updated.model_dump_json(include=set(changes) - {"navidrome_password_sealed"}))
        await self.publish(SettingsChanged(keys=sorted(changes), values=values, user=who.username))
        return updated

    async def set_accounts(self, who: Principal, username: str, changes: dict[str, Any]) -> UserAccounts:
        accounts = self.users.accounts(username).model_copy(update=changes)
        row = self.users.get(username)
        accounts = accounts.model_copy(update={"enabled": bool(row and row.enabled)})
        self.users.set_accounts(accounts)
        for changed in self.accounts_changed:
            changed(username)
        await self.settings.put_accounts(accounts)
        # secrets stay out of the event: only which fields changed, by whom
        await self.publish(SettingsChanged(keys=[f"user.{username}"], values={}, user=who.username))
        return accounts
