"""GET /api/events: the live feed as Server-Sent Events, resumable with Last-Event-ID."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Stream

from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.feed import STREAM_ORDER, Broadcaster, format_cursor, parse_cursor
from ..readmodel.projection import FeedItem
from ..readmodel.queries import Scope, View

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
        media_type="text/event-stream",
    )
    async def events(self, who: Principal, request: Request[Any, Any, Any], state: State) -> Stream:
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
                    for row in await asyncio.to_thread(view.feed_after, scope, cursor):
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


def _row_item(row: Any) -> dict[str, Any]:
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
