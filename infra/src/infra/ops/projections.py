"""What a replayable projection offers `brainstream replay`, how one is found, and the SQLite store helpers.

A service that keeps a read model offers it under the `brainstream.projections` entry-point group (in its own
pyproject), so the command finds it without importing any service package by name. This module imports neither nats
nor a service: the fold process needs these types alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .scan import Stored

__all__ = [
    "ENTRY_POINT_GROUP",
    "Decoded",
    "Fold",
    "ReplayableProjection",
    "Source",
    "UnknownProjection",
    "copy_tables",
    "discover",
    "load",
    "sqlite_files",
]

ENTRY_POINT_GROUP = "brainstream.projections"


@dataclass(frozen=True)
class Source:
    """One stream a projection folds, and the subjects of it that matter (wildcards allowed)."""

    stream: str
    subject: str


@dataclass(frozen=True)
class Decoded:
    """A stored message the fold understood: where it was stored, when it happened, and the parsed event."""

    stream: str
    seq: int
    at: datetime
    event: Any


class Fold(Protocol):
    """A projection open on one store. Every method runs in a worker thread, one call at a time."""

    def positions(self) -> dict[str, int]:
        """The last sequence applied per stream; those and earlier ones are skipped."""
        ...

    def decode(self, stored: Stored) -> Decoded | None:
        """Parse one stored message; None when the projection has no use for it."""
        ...

    def apply(self, batch: Sequence[Decoded]) -> None:
        """Fold a batch in one transaction, with the new positions."""
        ...

    def counts(self) -> dict[str, int]:
        """What the fold did, by kind (e.g. imported, removed), for the final table."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class ReplayableProjection(Protocol):
    name: str
    """What the operator types: `brainstream replay <name>`."""
    service: str
    """The service that keeps the live model, asked over `health.<service>` before the live store is touched."""
    description: str
    sources: tuple[Source, ...]
    by_time: bool
    """Merge the sources by when events happened before folding (a journey crosses streams)."""

    def live_store(self) -> Path | None:
        """The live store from the service's own settings (environment); None when it is not a SQLite file."""
        ...

    def open(self, store: Path, *, fresh: bool) -> Fold:
        """Open `store` (created if missing); with `fresh`, the projection's tables are emptied first."""
        ...

    def install(self, built: Path, live: Path) -> None:
        """Put the projection's tables of `built` into `live` in one transaction (the service is stopped)."""
        ...

    def dump(self, store: Path) -> dict[str, list[tuple[Any, ...]]]:
        """The model's rows, sorted, without volatile fields: equal dumps mean equal read models."""
        ...


class UnknownProjection(LookupError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name, self.known = name, sorted(known)
        listed = ", ".join(self.known) or "none (is a service package installed?)"
        super().__init__(f"no projection named {name!r}; known projections: {listed}")


def discover() -> dict[str, Callable[[], ReplayableProjection]]:
    """The projections the installed services offer, by name (loaded lazily: loading imports the service)."""
    found: dict[str, Callable[[], ReplayableProjection]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):

        def load(ep: Any = ep) -> ReplayableProjection:
            factory = ep.load()
            projection = factory()
            if not isinstance(projection, ReplayableProjection):
                raise TypeError(f"entry point {ep.value} does not give a replayable projection")
            return projection

        found[ep.name] = load
    return found


def load(name: str) -> ReplayableProjection:
    found = discover()
    if name not in found:
        raise UnknownProjection(name, found)
    return found[name]()


# stores -----------------------------------------------------------------------------------------------------------


def sqlite_files(path: Path) -> list[Path]:
    """A SQLite database and the files its WAL mode keeps beside it."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def copy_tables(built: Path, live: Path, tables: Sequence[str], *, keep_rows: dict[str, str] | None = None) -> None:
    """Replace `tables` of `live` by those of `built`, in one transaction: a reader sees the old or the new model.

    `keep_rows` names, per table, a SQL condition on rows of `live` to keep (e.g. another projection's position);
    the rows of `built` then go in beside them.
    """
    keep_rows = keep_rows or {}
    conn = sqlite3.connect(live, timeout=30, isolation_level=None)
    try:
        conn.execute("ATTACH DATABASE ? AS built", (str(built),))
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in tables:
                cols = ", ".join(f'"{r[1]}"' for r in conn.execute(f'PRAGMA built.table_info("{table}")'))
                keep = keep_rows.get(table)
                conn.execute(f'DELETE FROM main."{table}"' + (f" WHERE NOT ({keep})" if keep else ""))
                conn.execute(f'INSERT OR REPLACE INTO main."{table}" ({cols}) SELECT {cols} FROM built."{table}"')
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("DETACH DATABASE built")
    finally:
        conn.close()
