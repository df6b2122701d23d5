"""Watch the `settings` KV bucket and keep the current live settings in memory.

A service builds one `LiveSettings`, starts it after connecting, reads `pipeline` / `users` whenever it needs them
and may register callbacks for changes. A malformed document is logged and ignored (the last good one stays).

A user's accounts hold secrets (tokens, client secrets) and are sealed with the installation's key (see
`infra.secretbox`); a service that reads them passes its key source, and a plain document from before sealing is
still read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from nats.js import JetStreamContext
from nats.js.kv import KV_DEL, KV_PURGE
from pydantic import ValidationError

from contracts.livesettings import PIPELINE_KEY, SETTINGS_BUCKET, PipelineSettings, UserAccounts

from .secretbox import SecretBox, is_sealed, open_document

__all__ = ["LiveSettings"]

log = logging.getLogger(__name__)

Listener = Callable[[str], Awaitable[None] | None]


class LiveSettings:
    def __init__(self, box: Callable[[], SecretBox | None] | None = None) -> None:
        self._box = box
        self.pipeline = PipelineSettings()
        self.users: dict[str, UserAccounts] = {}
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    def on_change(self, listener: Listener) -> None:
        """Called with the changed key after the new value is in place."""
        self._listeners.append(listener)

    async def start(self, js: JetStreamContext) -> None:
        kv = await js.key_value(SETTINGS_BUCKET)
        watcher = await kv.watchall()
        self._task = asyncio.create_task(self._follow(watcher), name="live settings")
        await self._ready.wait()  # the initial values are applied before the service goes on

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, watcher: object) -> None:
        async for entry in watcher:  # type: ignore[attr-defined]
            if entry is None:  # end of the initial values
                self._ready.set()
                continue
            self.apply(entry.key, entry.value, deleted=entry.operation in (KV_DEL, KV_PURGE))
            for listener in self._listeners:
                result = listener(entry.key)
                if result is not None:
                    await result

    def apply(self, key: str, value: bytes | None, *, deleted: bool = False) -> None:
        try:
            if key == PIPELINE_KEY:
                self.pipeline = (
                    PipelineSettings() if deleted or not value else PipelineSettings.model_validate_json(value)
                )
            elif key.startswith("user."):
                name = key.removeprefix("user.")
                if deleted or not value:
                    self.users.pop(name, None)
                elif self._box is None and is_sealed(value):
                    log.debug("settings key %s is sealed and this service reads no accounts", key)
                    return
                else:
                    self.users[name] = UserAccounts.model_validate_json(self._open(value))
            else:
                log.debug("ignoring unknown settings key %s", key)
                return
        except ValidationError as exc:
            log.error("settings key %s holds an invalid document, keeping the previous value: %s", key, exc)
            return
        except ValueError as exc:  # sealed, and no key or another key than the gateway's
            log.error("settings key %s cannot be opened, keeping the previous value: %s", key, exc)
            return
        log.info("live setting %s %s", key, "removed" if deleted else "changed")

    def _open(self, value: bytes) -> bytes:
        return open_document(self._box() if self._box is not None else None, value)
