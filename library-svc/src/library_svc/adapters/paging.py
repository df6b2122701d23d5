"""Empty-query search pages by keyset behind the offset API: paging marks, every MARK_STRIDE-th (sort, id) key."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_

from ..domain.versions import Versions
from .schema import album_t, artist_t, track_t

__all__ = ["MARK_STRIDE", "Pager"]

log = logging.getLogger(__name__)

# every MARK_STRIDE-th (sort, id) key of a table is kept, so an empty-query search3 page at any offset seeks to
# the nearest mark through the index and skips fewer than MARK_STRIDE entries
MARK_STRIDE = 128


class Pager:
    """Pages of a whole table in a stable order (sort name, then id) at any offset, for the cost of the first."""

    def __init__(
        self,
        versions: Versions,
        read: Callable[[Any, dict[str, Any] | None], list[Any]],
        served: Callable[[Any], Any],
    ) -> None:
        self._versions = versions
        self._read = read
        self._served = served
        self._marks: dict[str, tuple[int, int, list[tuple[str, str]]]] = {}
        self._marks_lock = threading.Lock()
        self._refreshing: set[str] = set()
        self._page_stmts: dict[str, tuple[Any, Any]] = {}

    def ready(self, counts: tuple[int, int, int]) -> bool:
        """Whether the tables asked for (count > 0) have paging marks for this process's catalog version: a page
        then costs one short index seek."""
        catalog = self._versions.catalog
        tables = [t for t, n in zip((artist_t, album_t, track_t), counts, strict=True) if n > 0]
        return all(self._marks.get(t.name, (None,))[0] == catalog for t in tables)

    def _marks_of(self, table: Any, sort: Any) -> list[tuple[str, str]]:
        """(sort, id) of rows 0, MARK_STRIDE, 2·MARK_STRIDE, … in search order.

        Rebuilt at once when this process changed the catalog; when only the `Versions` time window has passed (a
        write by another replica shows up there), the old marks keep serving while one background thread rebuilds
        them, so no request waits for the whole-index walk."""
        catalog, _, window = self._versions.stamp("")
        cached = self._marks.get(table.name)
        if cached is None or cached[0] != catalog:
            with self._marks_lock:  # concurrent misses wait for one build instead of each walking the index
                cached = self._marks.get(table.name)
                if cached is None or cached[0] != catalog:
                    cached = self._marks[table.name] = (catalog, window, self._read_marks(table, sort))
        elif cached[1] != window and table.name not in self._refreshing:
            self._refreshing.add(table.name)
            threading.Thread(target=self._refresh_marks, args=(table, sort), daemon=True).start()
        return cached[2]

    def _refresh_marks(self, table: Any, sort: Any) -> None:
        try:
            catalog, _, window = self._versions.stamp("")
            marks = self._read_marks(table, sort)
            with self._marks_lock:
                self._marks[table.name] = (catalog, window, marks)
        except Exception:
            log.exception("refreshing the paging marks of %s failed; the next page retries", table.name)
        finally:
            self._refreshing.discard(table.name)

    def _read_marks(self, table: Any, sort: Any) -> list[tuple[str, str]]:
        numbered = select(sort.label("k"), table.c.id, func.row_number().over(order_by=(sort, table.c.id)))
        sub = numbered.subquery()
        every = select(sub.c.k, sub.c.id).where((sub.c[2] - 1) % MARK_STRIDE == 0).order_by(sub.c.k, sub.c.id)
        return [(k, i) for k, i in self._read(every, None)]

    def page(self, table: Any, sort: Any, count: int, offset: int) -> list[Any]:
        """A page of everything in a stable order (sort name, then id): seek to the mark before `offset` through
        the (sort, id) index, then skip the few entries left, so a deep page costs what the first one does."""
        marks = self._marks_of(table, sort)
        mark = min(offset // MARK_STRIDE, len(marks) - 1)
        stmts = self._page_stmts.get(table.name)
        if stmts is None:
            page = self._served(table).order_by(sort, table.c.id).limit(bindparam("count")).offset(bindparam("skip"))
            seek = page.where(tuple_(sort, table.c.id) >= tuple_(bindparam("k"), bindparam("i")))
            stmts = self._page_stmts[table.name] = (page, seek)
        if mark <= 0:
            return self._read(stmts[0], {"count": count, "skip": offset})
        k, i = marks[mark]
        return self._read(stmts[1], {"count": count, "skip": offset - mark * MARK_STRIDE, "k": k, "i": i})
