"""The gateway's KV buckets: live settings (`settings`) and the manual-request gate (`request_gate`).

A user's accounts (ListenBrainz token, Spotify secret and refresh token ...) go into `settings` sealed with the
gateway's key, as in gateway.db; ingest-svc opens them with the same key. Documents written before that are sealed
at provisioning (`infra.sealing`)."""

from __future__ import annotations

import json
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from contracts.livesettings import PIPELINE_KEY, SETTINGS_BUCKET, PipelineSettings, UserAccounts, user_key
from infra.secretbox import SecretBox, seal_document

__all__ = ["RequestGate", "SettingsStore"]


class _Bound:
    """Holds the JetStream context, given by `bind` in the runtime's on-connect hook (it exists only then)."""

    def __init__(self) -> None:
        self._context: JetStreamContext | None = None

    async def bind(self, js: JetStreamContext) -> None:
        self._context = js

    def _js(self) -> JetStreamContext:
        if self._context is None:
            raise RuntimeError(f"{type(self).__name__} used before the runtime connected")
        return self._context


class RequestGate(_Bound):
    async def claim(self, key: str, value: dict[str, Any]) -> dict[str, Any] | None:
        """Store `value` under `key` if nobody has; else return what the first one stored.

        The KV create is atomic on the server, so of two simultaneous clicks exactly one wins.
        """
        kv = await self._js().key_value("request_gate")
        for _ in range(3):
            try:
                await kv.create(key, json.dumps(value).encode())
            except KeyWrongLastSequenceError:
                try:
                    entry = await kv.get(key)
                except KeyNotFoundError:  # released between our create and our read: try again
                    continue
                existing: dict[str, Any] = json.loads(entry.value or b"{}")
                return existing
            return None
        raise RuntimeError(f"request gate key {key} keeps changing; try again")

    async def release(self, key: str, track_id: str | None = None) -> None:
        """Free `key` for a new request; with `track_id`, only while the entry is still that journey's (a replica
        folding a removal late must not free a newer request for the same track)."""
        kv = await self._js().key_value("request_gate")
        try:
            if track_id is None:
                await kv.delete(key)
                return
            entry = await kv.get(key)
            owner = json.loads(entry.value or b"{}").get("track_id")
            if owner is not None and owner != track_id:
                return
            await kv.delete(key, last=entry.revision)
        except (KeyNotFoundError, KeyWrongLastSequenceError):
            return  # gone already, or claimed again meanwhile: nothing of this journey's left to free


class SettingsStore(_Bound):
    def __init__(self, box: SecretBox) -> None:
        super().__init__()
        self._box = box

    async def pipeline(self) -> PipelineSettings:
        kv = await self._js().key_value(SETTINGS_BUCKET)
        try:
            entry = await kv.get(PIPELINE_KEY)
        except KeyNotFoundError:
            return PipelineSettings()
        return PipelineSettings.model_validate_json(entry.value or b"{}")

    async def put_pipeline(self, settings: PipelineSettings) -> None:
        kv = await self._js().key_value(SETTINGS_BUCKET)
        await kv.put(PIPELINE_KEY, settings.model_dump_json().encode())

    async def put_accounts(self, accounts: UserAccounts) -> None:
        kv = await self._js().key_value(SETTINGS_BUCKET)
        await kv.put(user_key(accounts.username), seal_document(self._box, accounts.model_dump_json().encode()))

    async def delete_accounts(self, username: str) -> None:
        kv = await self._js().key_value(SETTINGS_BUCKET)
        try:
            await kv.delete(user_key(username))
        except KeyNotFoundError:
            return
