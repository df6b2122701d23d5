"""The listening history as a replayable projection: `brainstream replay history`.

It folds `ingest.listen.recorded`, the `resolve.listen.*` answers and the library's genres (`library.track.imported`)
through the same `HistoryFold` the live consumers use. The store is its own file, so `install` replaces every table
of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.catalog import CATALOG
from infra.ops.projections import Decoded, Source
from infra.ops.scan import Stored

from .. import SERVICE
from ..insights.rollup_store import install_built
from ..replicas import read_model_dir
from ..settings import Settings
from .fold import HistoryFold
from .schema import TABLES, connect

__all__ = ["SUBJECTS", "HistoryProjection", "projection"]

SUBJECTS = ("ingest.listen.recorded", "resolve.listen.matched", "resolve.listen.unmatched", "library.track.imported")


def history_path(settings: Settings) -> Path:
    return read_model_dir(settings) / "history.db"


class _Fold:
    def __init__(self, fold: HistoryFold) -> None:
        self._fold = fold

    def positions(self) -> dict[str, int]:
        return self._fold.positions()

    def decode(self, stored: Stored) -> Decoded | None:
        if stored.subject not in SUBJECTS:
            return None
        event = CATALOG[stored.subject].model_validate_json(stored.data)
        return Decoded(stored.stream, stored.seq, event.occurred_at, event)

    def apply(self, batch: Sequence[Decoded]) -> None:
        self._fold.apply([(d.event, d.stream, d.seq) for d in batch])

    def counts(self) -> dict[str, int]:
        plays = self._fold.conn.execute("SELECT COUNT(*) FROM history_plays").fetchone()[0]
        return {**self._fold.counts, "plays": plays}

    def close(self) -> None:
        self._fold.conn.close()


class HistoryProjection:
    name = "history"
    service = SERVICE
    description = "listening history: one row per play, every source that saw it, its MusicBrainz match"
    # the fold gives the same store in any order (merge.py), so each stream is read in its own order
    by_time = False
    sources = (
        Source("INGEST", "ingest.listen.recorded"),
        Source("RESOLVE", "resolve.listen.*"),
        Source("LIBRARY", "library.track.imported"),
    )

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    def live_store(self) -> Path | None:
        return history_path(self._settings or Settings())

    def open(self, store: Path, *, fresh: bool) -> _Fold:
        conn = connect(store)
        if fresh:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")
        return _Fold(HistoryFold(conn))

    def install(self, built: Path, live: Path) -> None:
        connect(live).close()
        # copies the roll-ups as built, with their triggers off for the copy (insights/rollup_store.py)
        install_built(built, live, list(TABLES))

    def dump(self, store: Path) -> dict[str, list[tuple[Any, ...]]]:
        conn = connect(store)
        try:
            return {
                table: sorted((tuple(r) for r in conn.execute(f"SELECT * FROM {table}")), key=repr) for table in TABLES
            }
        finally:
            conn.close()


def projection() -> HistoryProjection:
    """The entry point `brainstream.projections: history`."""
    return HistoryProjection()
