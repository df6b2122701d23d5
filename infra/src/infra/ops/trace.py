"""`brainstream trace`: one track's journey across every stream, in order, with the time each stage took.

The key is a correlation id or a recording MBID; both are UUIDs, so it is tried as both. One pass over the event
streams (and DEADLETTER) collects the events of that correlation id, the correlation ids of events that carry the
key as `recording_mbid`, `track.recording_mbid` or `query.recording_mbid`, and where every journey's events are
(read from the bytes). The events of the journeys an MBID named are then fetched by position. Bodies are searched
as bytes before any JSON is parsed, so a trace costs little more than reading the streams once.

The time a stage took is measured from the event that caused it (`causation_id`) when that event is part of the
trace, else from the event before it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.deadletter import DeadLetterHeader
from contracts.topology import DEAD_LETTER, STREAMS

from .scan import Stored, scan_stream

__all__ = ["TraceEvent", "summarize", "trace"]

_MBID_PATHS: tuple[tuple[str, ...], ...] = (
    ("recording_mbid",),
    ("track", "recording_mbid"),
    ("query", "recording_mbid"),
)


@dataclass
class TraceEvent:
    stream: str
    seq: int
    subject: str
    at: datetime
    body: dict[str, Any]
    dead_letter: dict[str, str] | None = None
    offset_s: float = 0.0
    """Seconds since the first event of the trace."""
    stage_s: float | None = None
    """Seconds since the event that caused this one (or the previous one)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "seq": self.seq,
            "subject": self.subject,
            "at": self.at.isoformat(),
            "offset_s": round(self.offset_s, 6),
            "stage_s": None if self.stage_s is None else round(self.stage_s, 6),
            "dead_letter": self.dead_letter,
            "event": self.body,
        }


def _dig(body: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = body
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _parse(stored: Stored) -> dict[str, Any] | None:
    try:
        body = json.loads(stored.data)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _event(stored: Stored, body: dict[str, Any]) -> TraceEvent | None:
    dead = None
    if stored.stream == DEAD_LETTER.name:
        dead = {k.removeprefix("Brainstream-DL-").lower(): v for k, v in stored.headers.items()
                if k.startswith("Brainstream-DL-")}  # fmt: skip
        when = stored.headers.get(DeadLetterHeader.FAILED_AT) or body.get("occurred_at")
    else:
        when = body.get("occurred_at")
    try:
        at = datetime.fromisoformat(str(when))
    except ValueError:
        if stored.stored_at is None:
            return None
        at = stored.stored_at
    return TraceEvent(stored.stream, stored.seq, stored.subject, at, body, dead)


def _streams() -> list[str]:
    return [s.name for s in STREAMS]  # the event streams and DEADLETTER


async def _scan_all(js: JetStreamContext) -> Any:
    for stream in _streams():
        try:
            async with contextlib.aclosing(scan_stream(js, stream)) as stored_messages:
                async for stored in stored_messages:
                    yield stored
        except NotFoundError:
            continue  # a stream not provisioned yet holds nothing to trace


async def trace(js: JetStreamContext, key: str) -> list[TraceEvent]:
    """Every event of the journeys named by `key` (a correlation id or a recording MBID), in time order."""
    wanted = str(uuid.UUID(key))
    needle = wanted.encode()
    found: dict[tuple[str, int], TraceEvent] = {}
    for_mbid: set[str] = set()
    where: dict[bytes, list[tuple[str, int]]] = {}
    async with contextlib.aclosing(_scan_all(js)) as everything:
        async for stored in everything:
            cid_bytes = _cid_of(stored.data)
            if cid_bytes is not None:  # where each journey's events are, in case the key turns out to be an MBID
                where.setdefault(cid_bytes, []).append((stored.stream, stored.seq))
            if needle not in stored.data:
                continue
            body = _parse(stored)
            if body is None:
                continue
            cid = body.get("correlation_id")
            if cid == wanted:
                ev = _event(stored, body)
                if ev:
                    found[(stored.stream, stored.seq)] = ev
            elif isinstance(cid, str) and any(_dig(body, p) == wanted for p in _MBID_PATHS):
                for_mbid.add(cid)
    # the journeys an MBID named: their events were passed by already; fetch them by position
    for cid in for_mbid - {wanted}:
        for stream, seq in where.get(cid.encode(), []):
            if (stream, seq) in found:
                continue
            stored = await _get(js, stream, seq)
            body = _parse(stored) if stored else None
            if stored and body is not None and body.get("correlation_id") == cid:
                ev = _event(stored, body)
                if ev:
                    found[(stream, seq)] = ev
    return _timed(list(found.values()))


_CID_KEY = b'"correlation_id"'


def _cid_of(data: bytes) -> bytes | None:
    """The correlation id of a JSON event, read from the bytes (no parsing): `"correlation_id": "<uuid>"`."""
    i = data.find(_CID_KEY)
    if i < 0:
        return None
    start = i + len(_CID_KEY)
    j = data.find(b'"', start)
    if j < 0 or data[start:j].strip(b" :") != b"":
        return None  # null or not a string
    return data[j + 1 : j + 37]


async def _get(js: JetStreamContext, stream: str, seq: int) -> Stored | None:
    try:
        raw = await js.get_msg(stream, seq)
    except NotFoundError:
        return None  # removed since (age or size limits)
    return Stored(stream, seq, raw.subject or "", raw.data or b"", dict(raw.headers or {}), None)


def _timed(events: list[TraceEvent]) -> list[TraceEvent]:
    events.sort(key=lambda e: (e.at, e.dead_letter is not None, e.stream, e.seq))
    if not events:
        return events
    start = events[0].at
    by_id = {e.body.get("event_id"): e for e in events if e.dead_letter is None}
    previous: TraceEvent | None = None
    for ev in events:
        ev.offset_s = (ev.at - start).total_seconds()
        cause = by_id.get(ev.body.get("causation_id")) if ev.dead_letter is None else by_id.get(ev.body.get("event_id"))
        base = cause or previous
        ev.stage_s = None if base is None else (ev.at - base.at).total_seconds()
        previous = ev
    return events


_SUMMARY_KEYS = ("reason", "origin", "source", "backend", "album_source", "path", "candidate_count")


def summarize(body: dict[str, Any]) -> str:
    """A short human line about an event: who/what, and why when it failed."""
    parts: list[str] = []
    for holder in ("track", "query"):
        sub = body.get(holder)
        if isinstance(sub, dict) and (sub.get("artist") or sub.get("title")):
            parts.append(f"{sub.get('artist') or '?'} - {sub.get('title') or '?'}")
            if sub.get("album"):
                parts.append(f"album {sub['album']}")
            break
    for key in _SUMMARY_KEYS:
        value = body.get(key)
        if value not in (None, "", [], {}):
            parts.append(f"{key}={value}")
    return "; ".join(parts)
