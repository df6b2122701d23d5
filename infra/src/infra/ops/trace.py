"""`brainstream trace`: one track's journey across every stream, in order, with the time each stage took.

The key is a correlation id or a recording MBID; both are UUIDs, so it is tried as both. A first pass over the
event streams (and DEADLETTER) collects the events of that correlation id and the correlation ids of events that
carry the key as `recording_mbid`, `track.recording_mbid` or `query.recording_mbid`. Only when the MBID named
other journeys does a second pass collect their events. Bodies are searched as bytes before any JSON is parsed,
so a scan costs little more than reading the streams.

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
    cids: set[str] = {wanted}
    found: dict[tuple[str, int], TraceEvent] = {}
    for_mbid: set[str] = set()
    async for stored in _scan_all(js):
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
    others = for_mbid - cids
    if others:
        needles = [c.encode() for c in others]
        async for stored in _scan_all(js):
            if not any(n in stored.data for n in needles):
                continue
            body = _parse(stored)
            if body is not None and body.get("correlation_id") in others:
                ev = _event(stored, body)
                if ev:
                    found[(stored.stream, stored.seq)] = ev
    return _timed(list(found.values()))


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
