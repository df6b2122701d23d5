"""JetStream KV buckets: cursors (`ingest_cursors`), the listen gate (`listen_gate`), the ledgers of what was sent
out (`forward_ledger`, `feedback_ledger`), and, read only, what the pipeline already wants or owns (`pipeline_gate`,
`library_owned`: acquire-svc and library-svc own them) and what a user must not be offered (`discovery_gate`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from contracts.discovery import DISCOVERY_BUCKET, pause_key, tombstone_key

from ..domain.listens import ListenCursor
from ..domain.recommendations import CfCursor, Marker
from ..domain.sonos_plays import LoggedPlay
from ..ports import GateState, Tombstone

__all__ = [
    "KvCursorStore",
    "KvDiscoveryGate",
    "KvForwardLedger",
    "KvKnownRecordings",
    "KvLease",
    "KvListenGate",
]

_PENDING = b"pending"
_DONE = b"done"


async def _get(kv: KeyValue, key: str) -> bytes | None:
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:  # KeyDeletedError is a subclass: a deleted key is absent too
        return None
    return entry.value


class KvCursorStore:
    """Keys: `cf.<user>` (offset, model marker, radio rotation), `listens.<user>.<source>` (newest published play),
    `sonos.<coordinator uid>` (the last play a Sonos group counted)."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext) -> KvCursorStore:
        return cls(await js.key_value("ingest_cursors"))

    async def cf(self, user: str) -> CfCursor:
        raw = await _get(self.kv, f"cf.{user}")
        if not raw:
            return CfCursor()
        doc = json.loads(raw)
        marker = Marker(doc["marker_kind"], doc["marker"]) if doc.get("marker_kind") else None
        return CfCursor(
            offset=int(doc.get("offset", 0)),
            marker=marker,
            radio_rotation=int(doc.get("radio", 0)),
            last_run_at=float(doc.get("last_run_at", 0.0)),
        )

    async def save_cf(self, user: str, cursor: CfCursor) -> None:
        doc = {
            "offset": cursor.offset,
            "marker_kind": cursor.marker.kind if cursor.marker else None,
            "marker": cursor.marker.value if cursor.marker else None,
            "radio": cursor.radio_rotation,
            "last_run_at": cursor.last_run_at,
        }
        await self.kv.put(f"cf.{user}", json.dumps(doc).encode())

    async def listens(self, user: str, source: str) -> ListenCursor | None:
        raw = await _get(self.kv, f"listens.{user}.{source}")
        if not raw:
            return None
        doc = json.loads(raw)
        return ListenCursor(newest_ts=int(doc["newest_ts"]), polls=int(doc.get("polls", 0)))

    async def save_listens(self, user: str, source: str, cursor: ListenCursor) -> None:
        doc = {"newest_ts": cursor.newest_ts, "polls": cursor.polls}
        await self.kv.put(f"listens.{user}.{source}", json.dumps(doc).encode())

    async def feedback(self, user: str) -> tuple[int, set[str]]:
        raw = await _get(self.kv, f"feedback.{_kv_safe(user)}")
        if not raw:
            return 0, set()
        doc = json.loads(raw)
        return int(doc.get("newest", 0)), set(doc.get("keys", []))

    async def save_feedback(self, user: str, newest: int, keys: set[str]) -> None:
        doc = {"newest": newest, "keys": sorted(keys)}
        await self.kv.put(f"feedback.{_kv_safe(user)}", json.dumps(doc).encode())

    async def last_play(self, group: str) -> LoggedPlay | None:
        raw = await _get(self.kv, f"sonos.{_kv_safe(group)}")
        if not raw:
            return None
        doc = json.loads(raw)
        return LoggedPlay(track=str(doc["track"]), started_at=datetime.fromisoformat(doc["started_at"]))

    async def save_last_play(self, group: str, play: LoggedPlay) -> None:
        doc = {"track": play.track, "started_at": play.started_at.isoformat()}
        await self.kv.put(f"sonos.{_kv_safe(group)}", json.dumps(doc).encode())


def _kv_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_=-]", "_", text)


class KvListenGate:
    """One key per play: `create` is the atomic claim; the value goes from pending to done once published."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext) -> KvListenGate:
        return cls(await js.key_value("listen_gate"))

    async def claim(self, key: str) -> str:
        try:
            await self.kv.create(key, _PENDING)
            return GateState.NEW
        except KeyWrongLastSequenceError:
            pass
        value = await _get(self.kv, key)
        return GateState.DONE if value == _DONE else GateState.PENDING

    async def done(self, key: str) -> None:
        await self.kv.put(key, _DONE)


class KvKnownRecordings:
    """A recording is known when acquire-svc's gate holds it (wanted, in flight) or library-svc owns it."""

    def __init__(self, pipeline_gate: KeyValue, library_owned: KeyValue) -> None:
        self.buckets = (pipeline_gate, library_owned)

    @classmethod
    async def open(cls, js: JetStreamContext) -> KvKnownRecordings:
        return cls(await js.key_value("pipeline_gate"), await js.key_value("library_owned"))

    async def known(self, mbids: list[UUID]) -> set[UUID]:
        async def held(mbid: UUID) -> bool:
            for kv in self.buckets:
                if await _get(kv, str(mbid)) is not None:
                    return True
            return False

        found = await asyncio.gather(*(held(m) for m in mbids))
        return {m for m, hit in zip(mbids, found, strict=True) if hit}

    async def owned(self, mbids: list[UUID]) -> dict[UUID, str]:
        """The library's track id of each owned recording (library-svc writes `{"track_id": …, "path": …}`)."""
        raws = await asyncio.gather(*(_get(self.buckets[1], str(m)) for m in mbids))
        out: dict[UUID, str] = {}
        for mbid, raw in zip(mbids, raws, strict=True):
            if raw is None:
                continue
            try:
                track_id = json.loads(raw).get("track_id")
            except (ValueError, AttributeError):
                track_id = None
            if track_id:
                out[mbid] = str(track_id)
        return out


class KvDiscoveryGate:
    """`discovery_gate` (library-svc owns it): `tombstone.<user>.<mbid>` (a JSON value with `artist` and `reason`,
    or anything else: the key alone is the tombstone) and `paused` (the reason in words)."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext) -> KvDiscoveryGate:
        return cls(await js.key_value(DISCOVERY_BUCKET))

    async def paused(self) -> str | None:
        raw = await _get(self.kv, pause_key())
        if raw is None:
            return None
        return raw.decode(errors="replace").strip() or "paused"

    async def tombstones(self, user: str, mbids: list[UUID]) -> dict[UUID, Tombstone]:
        raws = await asyncio.gather(*(_get(self.kv, tombstone_key(user, m)) for m in mbids))
        return {m: _tombstone(raw) for m, raw in zip(mbids, raws, strict=True) if raw is not None}

    async def hated_artists(self, user: str) -> set[str]:
        # one watch of the user's tombstones, values included: the server filters by subject, no get per key
        watcher = await self.kv.watch(tombstone_key(user, "*"), ignore_deletes=True)
        out: set[str] = set()
        try:
            async for entry in watcher:
                if entry is None:  # the end of what is stored now
                    break
                if b"hated" not in (entry.value or b""):
                    continue  # most tombstones are expiries: not worth decoding
                stone = _tombstone(entry.value or b"")
                if stone.reason == "hated" and stone.artist:
                    out.add(stone.artist)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]  # nats-py leaves it unannotated
        return out


def _tombstone(raw: bytes) -> Tombstone:
    try:
        doc = json.loads(raw)
    except ValueError:
        return Tombstone()
    if not isinstance(doc, dict):
        return Tombstone()
    artist, reason = doc.get("artist"), doc.get("reason")
    return Tombstone(artist=str(artist) if artist else None, reason=str(reason) if reason else None)


class KvLease:
    """Who runs the scheduled loops when several processes of ingest-svc run: one holder at a time, renewed with a
    compare-and-set on the entry's revision, taken over by another process once it has not been renewed for `ttl_s`.
    """

    KEY = "lease.scheduler"

    def __init__(self, kv: KeyValue, holder: str, ttl_s: float, clock: Callable[[], float] = time.time) -> None:
        self.kv = kv
        self.me = holder
        self.ttl_s = ttl_s
        self.clock = clock
        self.holder: str | None = None
        """The holder seen at the last `hold()`."""

    @classmethod
    async def open(cls, js: JetStreamContext, holder: str, ttl_s: float) -> KvLease:
        return cls(await js.key_value("ingest_cursors"), holder, ttl_s)

    async def hold(self) -> bool:
        """Take or renew the lease; False while another process holds a live one."""
        now = self.clock()
        value = json.dumps({"holder": self.me, "until": now + self.ttl_s}).encode()
        try:
            entry = await self.kv.get(self.KEY)
        except KeyNotFoundError:
            try:
                await self.kv.create(self.KEY, value)
            except KeyWrongLastSequenceError:
                return False  # another process took it just now; its value is read at the next call
            self.holder = self.me
            return True
        doc = json.loads(entry.value or b"{}")
        if doc.get("holder") != self.me and float(doc.get("until", 0)) > now:
            self.holder = str(doc.get("holder"))
            return False
        try:
            await self.kv.update(self.KEY, value, last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        self.holder = self.me
        return True

    async def release(self) -> None:
        """On a clean stop: let another process take over at once instead of after the TTL."""
        with contextlib.suppress(KeyNotFoundError, KeyWrongLastSequenceError):
            entry = await self.kv.get(self.KEY)
            if json.loads(entry.value or b"{}").get("holder") == self.me:
                await self.kv.delete(self.KEY, last=entry.revision)


class KvForwardLedger:
    """`forward_ledger`: where sending a play on to one target stands (see service/forwarding.py); the same shape
    serves `feedback_ledger` (service/feedback.py)."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str = "forward_ledger") -> KvForwardLedger:
        return cls(await js.key_value(bucket))

    async def forget(self, key: str) -> None:
        with contextlib.suppress(KeyNotFoundError):
            await self.kv.delete(key)

    async def state(self, key: str) -> str | None:
        raw = await _get(self.kv, key)
        return raw.decode() if raw else None

    async def mark(self, key: str, state: str) -> None:
        await self.kv.put(key, state.encode())

    async def claim(self, key: str, state: str) -> bool:
        """Set `key` to `state` only if nobody has: False when another process (a replica) got there first."""
        try:
            await self.kv.create(key, state.encode())
        except KeyWrongLastSequenceError:
            return False
        return True
