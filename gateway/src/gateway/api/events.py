"""GET /api/events: the live feed as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.response import Stream

from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.feed import STREAM_ORDER, Broadcaster, format_cursor, parse_cursor
from ..readmodel.projection import FeedItem
from ..readmodel.queries import Scope, View
from ..readmodel.rows import FeedRow

__all__ = ["EventsController"]


def _frame(cursor: dict[str, int], item: dict[str, Any]) -> bytes:
    return f"id: {format_cursor(cursor)}\nevent: pipeline\ndata: {json.dumps(item, default=str)}\n\n".encode()


class EventsController(Controller):
    path = "/api/events"
    tags = ["events"]
    dependencies = {"who": Provide(principal)}

    @get(
        operation_id="streamEvents",
        summary="Pipeline events as SSE; reconnect with Last-Event-ID to continue where you left off",
        description=(
            "Each `pipeline` event's id is a cursor; send it back as Last-Event-ID to get what happened since. When "
            "that cannot be replayed whole (the feed keeps the newest BRAINSTREAM_FEED_KEEP events, and one resume "
            "replays at most 500), a `reset` event comes first and the stream goes on from now: read the current "
            "state again (GET /api/tracks…)."
        ),
        media_type="text/event-stream",
    )
    async def events(self, who: NamedDependency[Principal], request: Request[Any, Any, Any], state: State) -> Stream:
        broadcaster: Broadcaster = state.broadcaster
        view: View = state.view
        scope = Scope(who.username, who.is_admin)
        keepalive: float = state.settings.sse_keepalive_s
        resume = parse_cursor(request.headers.get("last-event-id") or request.query_params.get("last_event_id"))
        projection = state.projection

        async def frames() -> AsyncIterator[bytes]:
            with broadcaster.listen() as queue:
                # listening first, reading the backlog second: nothing falls between the two
                cursor = resume or {s: 0 for s in STREAM_ORDER} | await asyncio.to_thread(projection.checkpoints)
                yield f"retry: 2000\nid: {format_cursor(cursor)}\n: connected\n\n".encode()
                if resume is not None:
                    backlog, lost = await asyncio.to_thread(_backlog, view, scope, cursor)
                    if lost:
                        # part of what was missed is gone (pruned, or more than one resume replays): say so and go on
                        # from now; the client reads the current state again instead of trusting a gapped replay
                        cursor = {s: 0 for s in STREAM_ORDER} | await asyncio.to_thread(projection.checkpoints)
                        yield _reset(cursor, lost)
                    for row in backlog:
                        cursor[row.stream] = max(cursor.get(row.stream, 0), row.seq)
                        yield _frame(cursor, _row_item(row))
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), keepalive)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
                        continue
                    if item is None:  # this listener fell behind and was dropped: the client resumes by id
                        return
                    if item.seq <= cursor.get(item.stream, 0) or not scope.allows(item.user):
                        continue
                    cursor[item.stream] = item.seq
                    yield _frame(cursor, _item(item))

        return Stream(
            frames(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


RESUME_LIMIT = 500
"""Most events one resume replays; a client further behind gets a `reset` and reads the current state again."""


def _backlog(view: View, scope: Scope, cursor: dict[str, int]) -> tuple[list[FeedRow], str | None]:
    """The events after the cursor, or none and the reason they cannot all be replayed."""
    horizon = view.feed_horizon()
    if any(cursor.get(stream, 0) < seq for stream, seq in horizon.items()):
        return [], "older than the kept feed"
    rows = view.feed_after(scope, cursor, limit=RESUME_LIMIT + 1)
    if len(rows) > RESUME_LIMIT:
        return [], f"more than {RESUME_LIMIT} events behind"
    return rows, None


def _reset(cursor: dict[str, int], reason: str) -> bytes:
    return f"id: {format_cursor(cursor)}\nevent: reset\ndata: {json.dumps({'reason': reason})}\n\n".encode()


def _item(item: FeedItem) -> dict[str, Any]:
    return {
        "stream": item.stream,
        "seq": item.seq,
        "subject": item.subject,
        "user": item.user,
        "track_id": item.track_id,
        "state": item.state,
        "stage": item.stage,
        "at": item.at.isoformat(),
        "summary": item.summary,
    }


def _row_item(row: FeedRow) -> dict[str, Any]:
    return {
        "stream": row.stream,
        "seq": row.seq,
        "subject": row.subject,
        "user": row.user,
        "track_id": row.track_id,
        "state": None,
        "stage": None,
        "at": row.at.isoformat(),
        "summary": row.summary,
        "replayed": True,
    }
