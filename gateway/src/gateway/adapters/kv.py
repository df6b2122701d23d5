"""The gateway's KV buckets: live settings (`settings`) and the manual-request gate (`request_gate`).

A user's accounts (ListenBrainz token, Spotify secret and refresh token ...) go into `settings` sealed with the
gateway's key, as in gateway.db; ingest-svc opens them with the same key. Documents written before that are sealed
at provisioning (`infra.sealing`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from contracts.livesettings import PIPELINE_KEY, SETTINGS_BUCKET, PipelineSettings, UserAccounts, user_key
from infra.secretbox import SecretBox, seal_document

__all__ = ["RequestGate", "SettingsStore"]


class RequestGate:
    def __init__(self, js: Callable[[], JetStreamContext]) -> None:
        self._js = js  # the runtime's context exists only once it is connected

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

    async def release(self, key: str) -> None:
        kv = await self._js().key_value("request_gate")
        try:
            await kv.delete(key)
        except KeyNotFoundError:
            return


class SettingsStore:
    def __init__(self, js: Callable[[], JetStreamContext], box: SecretBox) -> None:
        self._js = js  # the runtime's context exists only once it is connected
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
