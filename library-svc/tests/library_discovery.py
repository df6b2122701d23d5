"""The whole library-svc on a real nats-server, driven through the discovery lifecycle with an injected clock.

A module of its own name (test modules import it by name). `Life` publishes what the other services would
(tagged files, plays, matches, feedback, commands), acts as a user of the built-in server over its real HTTP API, and
reads back LIBRARY, the KV `discovery_gate` and the files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from library_builders import tagged
from library_server import free_port
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError

from contracts.acquire import TrackTagged
from contracts.base import Message
from contracts.common import CandidateSource
from contracts.discovery import DISCOVERY_BUCKET, DiscoveryAdded, pause_key, tombstone_key
from contracts.library import ScanCompleted, TrackImported
from contracts.livesettings import PIPELINE_KEY, SETTINGS_BUCKET, PipelineSettings, UserAccounts
from infra.internal import INTERNAL_HEADER
from library_svc.app import Service, build, serve
from library_svc.settings import Settings
from tests.support.audio import make_library
from tests.support.nats import NatsEndpoint, subject_messages
from tests.support.wait import wait_until

SECRET = "discovery-test-secret"


class Clock:
    """The lifecycle's clock, moved by the test: days pass without anyone waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Life:
    service: Service
    js: JetStreamContext
    staging: Path
    clock: Clock
    counter: int = 0
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def music(self) -> Path:
        return self.service.settings.music_dir

    @property
    def trash(self) -> Path:
        return self.service.settings.discovery_trash_dir

    async def send(self, event: Message) -> None:
        await self.js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})

    async def events(self, cls: type[Any]) -> list[Any]:
        return [cls.from_json(raw) for raw in await subject_messages(self.js, cls.subject)]

    async def wait_events(self, cls: type[Any], count: int, timeout: float = 20) -> list[Any]:
        async def probe() -> list[Any]:
            return await self.events(cls)

        return list(await wait_until(probe, timeout=timeout, predicate=lambda found: len(found) >= count))

    async def pick(
        self, user: str | None, origin: CandidateSource | None, *, title: str | None = None
    ) -> TrackImported:
        """A recommended (or requested) track arrives from acquire-svc and is imported."""
        self.counter += 1
        n = self.counter
        event: TrackTagged = tagged(self.staging, n, title=title or f"Pick {n}", artist=f"Artist {n}")
        event = event.model_copy(update={"origin": origin, "user": user, "occurred_at": datetime.now(UTC)})
        before = len(await self.events(TrackImported))
        await self.send(event)
        imported = (await self.wait_events(TrackImported, before + 1))[-1]
        assert imported.recording_mbid == event.track.recording_mbid
        self.sizes[imported.track_id] = imported.size_bytes
        return imported  # type: ignore[no-any-return]

    async def added(self, count: int) -> list[DiscoveryAdded]:
        return await self.wait_events(DiscoveryAdded, count)

    async def settled(self, durable: str) -> None:
        """Every message of a consumer handled and acknowledged (so what it would publish, it has)."""
        stream = {"library_discovery_commands": "GATEWAY", "library_discovery_plays": "INGEST"}[durable]

        async def idle() -> bool:
            info = await self.js.consumer_info(stream, durable)
            return info.num_pending == 0 and info.num_ack_pending == 0

        await wait_until(idle, timeout=20)

    async def tick(self) -> None:
        discoveries = self.service.discoveries
        assert discoveries is not None
        await discoveries.tick()

    # the built-in server, as a user sees it ----------------------------------------------------------------------

    def rest(self, user: str, method: str, **params: Any) -> dict[str, Any]:
        port = self.service.settings.http_port
        resp = httpx.get(
            f"http://127.0.0.1:{port}/rest/{method}",
            params={**params, "f": "json"},
            headers={INTERNAL_HEADER: SECRET, "X-Brainstream-User": user},
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()["subsonic-response"]
        assert body["status"] == "ok", body
        return body

    async def playlists(self, user: str) -> dict[str, list[str]]:
        """The user's playlists by name → track ids, through getPlaylists/getPlaylist as that user."""
        listing = await asyncio.to_thread(self.rest, user, "getPlaylists")
        out: dict[str, list[str]] = {}
        for p in listing["playlists"].get("playlist", []):
            assert p["owner"] == user, p  # each user sees their own discovery playlists, not another's
            full = await asyncio.to_thread(self.rest, user, "getPlaylist", id=p["id"])
            out[p["name"]] = [s["id"] for s in full["playlist"].get("entry", [])]
        return out

    # discovery_gate ------------------------------------------------------------------------------------------------

    async def gate(self, key: str) -> dict[str, Any] | None:
        kv = await self.js.key_value(DISCOVERY_BUCKET)
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return None
        return json.loads(entry.value) if entry.value else None

    async def tombstone(self, user: str, mbid: uuid.UUID) -> dict[str, Any] | None:
        return await self.gate(tombstone_key(user, mbid))

    async def paused(self) -> str | None:
        """The reason runs wait, as the KV holds it (plain words), or None."""
        kv = await self.js.key_value(DISCOVERY_BUCKET)
        try:
            entry = await kv.get(pause_key())
        except KeyNotFoundError:
            return None
        return entry.value.decode() if entry.value else None

    async def set_user(self, account: UserAccounts) -> None:
        """A user's accounts as written before sealing existed (plain JSON), which the services still read."""
        kv = await self.js.key_value(SETTINGS_BUCKET)
        await kv.put(f"user.{account.username}", account.model_dump_json().encode())
        await wait_until(lambda: self.service.live.users.get(account.username) == account, timeout=10)

    async def set_pipeline(self, pipeline: PipelineSettings) -> None:
        kv = await self.js.key_value(SETTINGS_BUCKET)
        await kv.put(PIPELINE_KEY, pipeline.model_dump_json().encode())
        await wait_until(lambda: self.service.live.pipeline == pipeline, timeout=10)


@contextlib.asynccontextmanager
async def running_life(
    nats_endpoint: NatsEndpoint, js: JetStreamContext, tmp_path: Path, **env: Any
) -> AsyncIterator[Life]:
    music = tmp_path / "music"
    make_library(music, 2)  # files that were there before: never discoveries
    settings = Settings(
        NATS_URL=nats_endpoint.url,
        BRAINSTREAM_DATA_DIR=tmp_path / "data",
        BRAINSTREAM_MUSIC_DIR=music,
        BRAINSTREAM_LIBRARY_HTTP_PORT=free_port(),
        BRAINSTREAM_LIBRARY_API_SECRET=SECRET,
        BRAINSTREAM_LIBRARY_INFO=False,
        BRAINSTREAM_DISCOVERY_TICK=3600,  # the test ticks by hand, with its own clock
        **env,
    )
    service = build(settings)
    clock = Clock()
    assert service.discoveries is not None
    service.discoveries.clock = clock
    task = asyncio.create_task(serve(service))
    try:
        await wait_until(lambda: subject_messages(js, ScanCompleted.subject), timeout=30)
        yield Life(service, js, tmp_path / "staging", clock)
    finally:
        service.runtime.request_stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)
