"""The three KV buckets acquire-svc uses: the gate (owned here), the negative cache (owned here) and the
`library_owned` index (kept by library-svc, only read here)."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Self
from uuid import UUID

from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from contracts.acquire import RejectionReason
from contracts.base import utcnow

from ..domain.gate import Decision, GateEntry, GateState, decide

__all__ = ["KvGate", "KvNegativeCache", "KvOwnedIndex"]

log = logging.getLogger(__name__)


class _Bucket:
    """A KV bucket, opened by `bind` in the runtime's on-connect hook (the connection exists only then)."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket
        self._kv: KeyValue | None = None

    async def bind(self, js: JetStreamContext) -> Self:
        self._kv = await js.key_value(self._bucket)
        return self

    async def kv(self) -> KeyValue:
        if self._kv is None:
            raise RuntimeError(f"KV bucket {self._bucket} used before the runtime connected")
        return self._kv


class KvGate(_Bucket):
    """One atomic `create` per recording MBID; the loser reads the winner's entry and starts nothing."""

    def __init__(self, bucket: str = "pipeline_gate") -> None:
        super().__init__(bucket)

    async def enter(
        self, recording_mbid: UUID, event_id: UUID, correlation_id: UUID, *, manual: bool, staged: bool = False
    ) -> tuple[Decision, GateEntry]:
        kv = await self.kv()
        key = str(recording_mbid)
        now = utcnow()
        mine = GateEntry(
            state=GateState.IN_FLIGHT,
            correlation_id=correlation_id,
            owner_event_id=event_id,
            created_at=now,
            updated_at=now,
        )
        try:
            await kv.create(key, mine.model_dump_json().encode())
            return Decision.PROCEED, mine
        except KeyWrongLastSequenceError:
            pass
        entry = await kv.get(key)
        existing = GateEntry.model_validate_json(entry.value or b"{}")
        decision = decide(existing, event_id, manual=manual, staged=staged)
        if decision is not Decision.REOPEN:
            return decision, existing
        reopened = mine.model_copy(update={"attempts": existing.attempts + 1, "created_at": existing.created_at})
        try:
            await kv.update(key, reopened.model_dump_json().encode(), last=entry.revision)
        except KeyWrongLastSequenceError:  # another retry took it over first
            latest = await kv.get(key)
            return Decision.SKIP, GateEntry.model_validate_json(latest.value or b"{}")
        return Decision.PROCEED, reopened

    async def mark(self, recording_mbid: UUID, state: GateState, detail: str = "") -> None:
        kv = await self.kv()
        entry = await kv.get(str(recording_mbid))
        current = GateEntry.model_validate_json(entry.value or b"{}")
        updated = current.model_copy(update={"state": state, "updated_at": utcnow(), "detail": detail[:500]})
        await kv.update(str(recording_mbid), updated.model_dump_json().encode(), last=entry.revision)

    async def get(self, recording_mbid: UUID) -> GateEntry | None:
        kv = await self.kv()
        try:
            entry = await kv.get(str(recording_mbid))
        except KeyNotFoundError:
            return None
        return GateEntry.model_validate_json(entry.value or b"{}")


def negative_key(backend: str, candidate_id: str) -> str:
    # KV keys allow only [-/_=.a-zA-Z0-9]; a candidate id is a URL, a path or a peer and file name
    return f"{backend}.{hashlib.sha256(candidate_id.encode()).hexdigest()[:40]}"


class KvNegativeCache(_Bucket):
    def __init__(self, bucket: str = "acquire_negative") -> None:
        super().__init__(bucket)

    async def contains(self, backend: str, candidate_id: str) -> bool:
        kv = await self.kv()
        try:
            await kv.get(negative_key(backend, candidate_id))
        except KeyNotFoundError:
            return False
        return True

    async def add(
        self, backend: str, candidate_id: str, recording_mbid: UUID, reason: RejectionReason, detail: str
    ) -> None:
        kv = await self.kv()
        value = {
            "backend": backend,
            "candidate_id": candidate_id,
            "recording_mbid": str(recording_mbid),
            "reason": reason.value,
            "detail": detail[:500],
            "at": utcnow().isoformat(),
        }
        await kv.put(negative_key(backend, candidate_id), json.dumps(value).encode())


class KvOwnedIndex(_Bucket):
    def __init__(self, bucket: str = "library_owned") -> None:
        super().__init__(bucket)

    async def owns(self, recording_mbid: UUID) -> bool:
        kv = await self.kv()
        try:
            await kv.get(str(recording_mbid))
        except KeyNotFoundError:
            return False
        return True
