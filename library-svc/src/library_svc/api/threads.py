"""Where an endpoint's blocking work runs: inline on the event loop, or in a worker thread.

The rule lives here, in one place: writes, file reads and unbounded reads go to a worker thread; a bounded catalog
read runs inline where the reader says that is cheaper than a thread hop (SQLite), and a read that is usually short
but may walk a whole index is tried inline under a step budget and redone in a thread if it runs over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from ..domain.usermarks import UserState
from ..ports import CatalogReads, OverBudget

__all__ = ["Threads"]

T = TypeVar("T")


class Threads:
    def __init__(self, reader: CatalogReads) -> None:
        self.reader = reader

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Blocking work (writes, file reads, unbounded reads) off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A bounded catalog read (an index lookup or a short index range): inline where the reader says that is
        cheaper than a worker thread (SQLite), else in a worker thread."""
        if self.reader.inline:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def with_state(
        self,
        user: str,
        fn: Callable[..., Any],
        *args: Any,
        bounded: bool = True,
        budget: int | None = None,
        **kwargs: Any,
    ) -> tuple[Any, UserState]:
        """`fn(...)` rows and the user's stars/ratings/plays for them, on one connection.

        A `bounded` read runs inline on a reader that allows it (see `read`). With a `budget` (SQLite steps), a
        read that is usually short but may walk a whole index is tried inline and redone in a worker thread if
        SQLite interrupts it. Anything else runs in a worker thread."""
        reader = self.reader

        def both(steps: int | None = None) -> tuple[Any, UserState]:
            with reader.with_connection(steps):
                rows = fn(*args, **kwargs)
                # several lists (search: artists, albums, songs) or one
                items = [r for part in rows for r in part] if isinstance(rows, tuple) else rows
                return rows, reader.user_state(user, [r.id for r in items])

        if reader.inline and bounded:
            return both()
        if reader.inline and budget is not None:
            try:
                return both(budget)
            except OverBudget:
                pass  # a long one (a rare word walks the whole sort index): a worker thread, without a budget
        return await asyncio.to_thread(both)
