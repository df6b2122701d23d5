"""Fan-out of applied events to every open /api/events stream, and the cursor their ids carry."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

from .projection import FeedItem

__all__ = ["STREAM_ORDER", "Broadcaster", "format_cursor", "parse_cursor"]

log = logging.getLogger(__name__)

STREAM_ORDER = ("INGEST", "RESOLVE", "ACQUIRE", "LIBRARY", "GATEWAY", "DELIVERY")


def format_cursor(cursor: dict[str, int]) -> str:
    """An SSE id: the last sequence seen of each stream, e.g. `12-4-9-3-7`."""
    return "-".join(str(cursor.get(stream, 0)) for stream in STREAM_ORDER)


def parse_cursor(text: str | None) -> dict[str, int] | None:
    if not text:
        return None
    parts = text.strip().split("-")
    if len(parts) == len(STREAM_ORDER) - 1:  # a cursor from before DELIVERY was folded: nothing of it seen yet
        parts.append("0")
    if len(parts) != len(STREAM_ORDER) or not all(p.isdigit() for p in parts):
        return None
    return dict(zip(STREAM_ORDER, map(int, parts), strict=True))


class Broadcaster:
    """Each listener gets a bounded queue; one that falls too far behind is dropped and resumes by its cursor."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._listeners: set[asyncio.Queue[FeedItem | None]] = set()
        self._size = queue_size

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def publish(self, item: FeedItem) -> None:
        for queue in list(self._listeners):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                log.warning("a live-feed listener fell %d events behind; closing it so it resumes", self._size)
                self._listeners.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[FeedItem | None]]:
        queue: asyncio.Queue[FeedItem | None] = asyncio.Queue(self._size)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
