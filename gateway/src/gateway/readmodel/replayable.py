"""The gateway's read model (journeys, timelines, runs, retrains, live feed) as a replayable projection:
`brainstream replay gateway`.

It folds the five event streams merged by when events happened, through the same `Projection` the live consumers
use, many events per transaction. Users, sessions and tokens share the database but are not a projection: `install`
replaces only the `view_*` tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy import select as core_select
from sqlmodel import Session, delete, func, select

from contracts.catalog import CATALOG
from contracts.topology import consumers_of
from infra.ops.projections import Decoded, Source, copy_tables
from infra.ops.scan import Stored

from .. import SERVICE
from ..db import make_engine
from ..discoveries.rows import DiscoveryFeedbackRow, DiscoveryPauseRow, DiscoveryPickRow, DiscoveryTrackRow
from ..replicas import read_model_dir
from ..settings import Settings
from .projection import Projection
from .rows import CheckpointRow, FeedRow, RetrainRow, RunRow, TimelineRow, TrackRow

__all__ = ["GatewayFold", "GatewayProjection", "projection"]

_ROWS: tuple[Any, ...] = (
    TrackRow,
    TimelineRow,
    RunRow,
    RetrainRow,
    FeedRow,
    DiscoveryPickRow,
    DiscoveryTrackRow,
    DiscoveryFeedbackRow,
    DiscoveryPauseRow,
    CheckpointRow,
)
_SURROGATE: tuple[Any, ...] = (TimelineRow, RetrainRow)
"""Their `id` is an autoincrement key that counts inserts, not facts, so a dump leaves it out (a journey's `id` is
its correlation id and stays)."""


def _table(row: Any) -> Table:
    table: Table = row.__table__
    return table


def _sources() -> tuple[Source, ...]:
    streams = dict.fromkeys(c.stream for c in consumers_of(SERVICE) if c.durable.startswith("gateway_view_"))
    return tuple(Source(s, f"{s.lower()}.>") for s in streams)


class GatewayFold:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._projection = Projection(engine)
        self._counts: Counter[str] = Counter()

    def positions(self) -> dict[str, int]:
        return self._projection.checkpoints()

    def decode(self, stored: Stored) -> Decoded | None:
        cls = CATALOG.get(stored.subject)
        if cls is None:
            return None
        event = cls.model_validate_json(stored.data)
        return Decoded(stored.stream, stored.seq, event.occurred_at, event)

    def apply(self, batch: Sequence[Decoded]) -> None:
        applied = self._projection.apply_many([(d.event, d.stream, d.seq) for d in batch])
        self._counts["events folded"] += applied

    def counts(self) -> dict[str, int]:
        with Session(self._engine) as s:
            tracks = s.exec(select(func.count()).select_from(TrackRow)).one()
        return {**self._counts, "journeys": tracks}

    def close(self) -> None:
        self._engine.dispose()


class GatewayProjection:
    name = "gateway"
    service = SERVICE
    description = (
        "the gateway's journeys, timelines, runs, retrains, discoveries and live feed, from every event stream"
    )
    by_time = True

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self.sources = _sources()

    def live_store(self) -> Path | None:
        settings = self._settings or Settings()
        return read_model_dir(settings) / "gateway.db"

    def open(self, store: Path, *, fresh: bool) -> GatewayFold:
        engine = make_engine(store)
        if fresh:
            with Session(engine) as s:
                for row in _ROWS:
                    s.exec(delete(row))  # type: ignore[call-overload]
                s.commit()
        return GatewayFold(engine)

    def install(self, built: Path, live: Path) -> None:
        copy_tables(built, live, [_table(row).name for row in _ROWS])

    def dump(self, store: Path) -> dict[str, list[tuple[Any, ...]]]:
        engine = make_engine(store)
        try:
            out: dict[str, list[tuple[Any, ...]]] = {}
            with engine.connect() as conn:
                for row in _ROWS:
                    table = _table(row)
                    cols = [c for c in table.columns if not (row in _SURROGATE and c.name == "id")]
                    rows = conn.execute(core_select(*cols)).all()
                    out[table.name] = sorted((tuple(_plain(v) for v in r) for r in rows), key=repr)
            return out
        finally:
            engine.dispose()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def projection() -> GatewayProjection:
    """The entry point `brainstream.projections: gateway`."""
    return GatewayProjection()
