"""Use cases of the gateway: the one place that turns HTTP intentions into pipeline commands and live settings."""

from __future__ import annotations

import json
from dataclasses import dataclass
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
from .readmodel.queries import Scope, View

__all__ = ["Conflict", "Gateway", "Invalid", "Missing", "Publisher"]


class Publisher(Protocol):
    async def __call__(self, event: Message) -> Any: ...


class Conflict(Exception):
    def __init__(self, message: str, existing: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.existing = existing
        """The request that won, or None when the asker may not see it (another user's)."""


class Invalid(ValueError):
    pass


class Missing(LookupError):
    pass


@dataclass
class Gateway:
    publish: Publisher
    gate: RequestGate
    settings: SettingsStore
    users: Users
    view: View

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
        return record

    # tracks ---------------------------------------------------------------------------------------------------

    async def retry(self, who: Principal, track_id: str, rematch: UUID | None) -> None:
        track = self.view.track(Scope(who.username, who.is_admin), track_id)
        if track is None:
            raise Missing(track_id)
        if track.state not in ("failed", "skipped", "removed") and rematch is None:
            raise Invalid(f"track is {track.state}; only failed, skipped or removed tracks are retried")
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
        updated = current.model_copy(update=changes)
        updated = PipelineSettings.model_validate(updated.model_dump())
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
        await self.settings.put_accounts(accounts)
        # secrets stay out of the event: only which fields changed, by whom
        await self.publish(SettingsChanged(keys=[f"user.{username}"], values={}, user=who.username))
        return accounts
