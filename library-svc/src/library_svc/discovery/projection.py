"""The lifecycle as a replayable projection of LIBRARY: `brainstream replay discoveries`.

It folds the `library.discovery.*` decisions in stream order into the lifecycle's tables (discoveries, weekly
entries, tombstones, the pause), the same `DiscoveryStore.apply` the live service runs after each decision, so a
rebuilt store equals the live one. `install` puts the tables into the live catalog database and rewrites every
user's discovery playlists in the built-in server from them (same ids, same tracks, same order); the service's
start-up brings `discovery_gate` in step. The plays that count towards keeping (`discovery_play`) are an input,
not a projection: a replay leaves them as they are.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, select

from infra.ops.projections import Decoded, Source, copy_tables

from .. import SERVICE
from ..adapters.database import create_catalog_engine, create_schema
from ..adapters.schema import projection_t

if TYPE_CHECKING:
    from infra.ops.scan import Stored

    from ..settings import Settings

__all__ = ["POSITION", "DiscoveryProjection", "decode", "projection"]

log = logging.getLogger(__name__)

POSITION = "discovery_events"
"""The projection row holding the LIBRARY sequence a replay has folded."""
_STREAM = "LIBRARY"


def decode(stored: Stored) -> Decoded | None:
    """A `library.discovery.*` message as the decision it records (validated in full)."""
    cls = _DECODERS.get(stored.subject)
    if cls is None:
        return None
    event = cls.model_validate_json(stored.data)
    return Decoded(stored.stream, stored.seq, event.occurred_at, event)


def _decoders() -> dict[str, Any]:
    from contracts import discovery as d

    kinds = (
        d.DiscoveryAdded,
        d.DiscoveryKept,
        d.DiscoveryHated,
        d.DiscoveryExpired,
        d.DiscoveryRestored,
        d.DiscoveryPurged,
        d.DiscoveryRunsPaused,
        d.DiscoveryRunsResumed,
    )
    return {k.subject: k for k in kinds}


_DECODERS = _decoders()


class DiscoveryFold:
    def __init__(self, engine: Engine) -> None:
        from .store import DiscoveryStore

        self._engine = engine
        self._store = DiscoveryStore(engine)
        self._counts: Counter[str] = Counter()

    def positions(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            value = conn.execute(select(projection_t.c.position).where(projection_t.c.name == POSITION)).scalar()
        return {_STREAM: int(value or 0)}

    def decode(self, stored: Stored) -> Decoded | None:
        return decode(stored)

    def apply(self, batch: Sequence[Decoded]) -> None:
        self._store.apply([d.event for d in batch], projection=(POSITION, batch[-1].seq))
        self._counts.update(d.event.subject.rsplit(".", 1)[-1] for d in batch)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def close(self) -> None:
        self._engine.dispose()


class DiscoveryProjection:
    name = "discoveries"
    service = SERVICE
    description = "library-svc's discovery lifecycle (discoveries, weekly entries, tombstones) and its playlists"
    sources: tuple[Source, ...] = (Source(_STREAM, "library.discovery.>"),)
    by_time = False  # stream order: the decisions' own order

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from ..settings import Settings

            self._settings = Settings()
        return self._settings

    def __getstate__(self) -> dict[str, Any]:
        return {"_settings": None}

    def live_store(self) -> Path | None:
        url = self.settings.db_url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    def open(self, store: Path, *, fresh: bool) -> DiscoveryFold:
        from .store import LIFECYCLE_TABLES

        engine = _engine(store)
        if fresh:
            with engine.begin() as conn:
                for table in LIFECYCLE_TABLES:
                    conn.execute(delete(table))
                conn.execute(delete(projection_t).where(projection_t.c.name == POSITION))
        return DiscoveryFold(engine)

    def install(self, built: Path, live: Path) -> None:
        from ..adapters.userdata import UserStore
        from .store import LIFECYCLE_TABLES, DiscoveryStore, sync_playlists

        copy_tables(built, live, [t.name for t in LIFECYCLE_TABLES])
        copy_tables(built, live, [projection_t.name], keep_rows={projection_t.name: f"name <> '{POSITION}'"})
        engine = _engine(live)
        try:
            store = DiscoveryStore(engine)
            changed = sync_playlists(store, UserStore(engine), store.users(), datetime.now(UTC))
            log.info("discovery playlists rewritten: %d", changed)
        finally:
            engine.dispose()

    def dump(self, store: Path) -> dict[str, list[tuple[Any, ...]]]:
        from .store import DiscoveryStore

        engine = _engine(store)
        try:
            return DiscoveryStore(engine).dump()
        finally:
            engine.dispose()


def _engine(store: Path) -> Engine:
    engine = create_catalog_engine(f"sqlite:///{store.resolve()}")
    create_schema(engine)
    return engine


def projection() -> DiscoveryProjection:
    """The entry point `brainstream.projections: discoveries`."""
    return DiscoveryProjection()
