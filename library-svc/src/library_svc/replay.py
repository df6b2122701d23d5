"""The catalog as a replayable projection of LIBRARY: `brainstream replay library`.

The catalog's pipeline tracks are folded from library-svc's own outcomes: `TrackImported` (upsert) and
`TrackRemoved` (delete), in stream order. An import event carries the catalog row's values (`entry`), so the fold
opens no file; an event written before `entry` existed is completed from the file in the music folder, and one
whose file is gone is skipped (a later removal, or the next folder scan, accounts for it).

Files that a folder scan indexed in place have no event; the service's start-up scan (on by default) adds them to a
rebuilt catalog again. User data in the same database (stars, ratings, plays, playlists) is not a projection and is
never touched: `install` replaces only the catalog tables.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, delete, event, select

from infra.ops.projections import Decoded, Source, copy_tables

from . import SERVICE
from .adapters.catalog import Removal, SqlCatalog
from .adapters.catalog_rows import PreparedTrack, prepare
from .adapters.database import create_catalog_engine, create_schema
from .adapters.schema import album_t, artist_t, genre_t, projection_t, track_t
from .adapters.tags import UnreadableFile, read_track

if TYPE_CHECKING:
    from contracts.library import TrackImported
    from infra.ops.scan import Stored

    from .domain.model import TrackInfo
    from .settings import Settings

__all__ = ["POSITION", "CatalogFold", "CatalogProjection", "decode", "projection"]

log = logging.getLogger(__name__)

POSITION = "library_events"
"""The projection row holding the LIBRARY sequence a replay has folded (the live service keeps `library_tagged`)."""
_TABLES = (artist_t, album_t, track_t, genre_t)
_STREAM = "LIBRARY"


def decode(stored: Stored) -> Decoded | None:
    """A LIBRARY message as the catalog change it makes (`replay_events.decode`)."""
    decoded: Decoded | None = _events().decode(stored)
    return decoded


@cache
def _events() -> ModuleType:
    """The decoding module, loaded on first use: the fold process loads the contracts only if it decodes."""
    from . import replay_events

    return replay_events


class CatalogFold:
    def __init__(self, engine: Engine, root: Path, *, bulk: bool = False) -> None:
        self._engine = engine
        self._bulk = bulk
        self._catalog = SqlCatalog(engine)
        self._root = root
        self._counts: Counter[str] = Counter()

    def positions(self) -> dict[str, int]:
        return {_STREAM: self._catalog.position(POSITION)}

    def decode(self, stored: Stored) -> Decoded | None:
        return decode(stored)

    def apply(self, batch: Sequence[Decoded]) -> None:
        changes: list[PreparedTrack | Removal] = []
        for item in batch:
            change = item.event
            if not isinstance(change, PreparedTrack | Removal):  # an import without `entry`: read the file
                info = self._from_file(change)
                if info is None:
                    continue
                change = prepare(info)
            changes.append(change)
            self._counts["removed" if isinstance(change, Removal) else "imported"] += 1
        self._catalog.fold(changes, projection=(POSITION, batch[-1].seq))

    def _from_file(self, event: TrackImported) -> TrackInfo | None:
        try:
            info = read_track(self._root, event.path)
        except (OSError, UnreadableFile) as exc:
            log.info("replay: %s is gone or unreadable (%s); skipped", event.path, exc)
            self._counts["skipped (file gone)"] += 1
            return None
        self._counts["read from file"] += 1
        created = event.occurred_at.replace(microsecond=0)
        return replace(info, recording_mbid=str(event.recording_mbid), created=created)

    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def close(self) -> None:
        if self._bulk:  # from here on the file is a catalog like any other
            with self._engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._engine.dispose()


class CatalogProjection:
    name = "library"
    service = SERVICE
    description = "library-svc's catalog (artists, albums, tracks, genres) from LIBRARY's imports and removals"
    sources: tuple[Source, ...] = (Source(_STREAM, "library.track.>"),)
    by_time = False

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._music_dir: Path | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from .settings import Settings  # the service's runtime: not imported by the fold process

            self._settings = Settings()
        return self._settings

    def __getstate__(self) -> dict[str, Any]:
        """What the fold process gets (`ChildFold`): the music folder, not the settings, whose module imports the
        service's runtime (nats, the HTTP stack): 0.6 s more of the fold process's start."""
        return {"_settings": None, "_music_dir": self.music_dir}

    @property
    def music_dir(self) -> Path:
        return self._music_dir if self._music_dir is not None else self.settings.music_dir

    def decode(self, stored: Stored) -> Decoded | None:
        """Decoding needs no store, so `replay()` does it where the stream is read (`DecodesWhileReading`)."""
        return decode(stored)

    def live_store(self) -> Path | None:
        url = self.settings.db_url
        return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None

    def open(self, store: Path, *, fresh: bool) -> CatalogFold:
        bulk = fresh and not store.exists()
        engine = _engine(store, bulk=bulk)
        if fresh:
            with engine.begin() as conn:
                for table in (*_TABLES, projection_t):
                    conn.execute(delete(table))
        return CatalogFold(engine, self.music_dir, bulk=bulk)

    def install(self, built: Path, live: Path) -> None:
        names = [t.name for t in (*_TABLES, projection_t)]
        # the live service's own position (`library_tagged`) stays; the replay's goes in beside it
        copy_tables(built, live, names, keep_rows={projection_t.name: f"name <> '{POSITION}'"})

    def dump(self, store: Path) -> dict[str, list[tuple[Any, ...]]]:
        engine = _engine(store)
        try:
            with engine.connect() as conn:
                return {
                    t.name: sorted((tuple(_plain(v) for v in r) for r in conn.execute(select(t))), key=_first)
                    for t in _TABLES
                }
        finally:
            engine.dispose()


def _first(row: tuple[Any, ...]) -> str:
    return str(row[0])  # the primary key of each catalog table (id, or a genre's name)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _engine(store: Path, *, bulk: bool = False) -> Engine:
    engine = create_catalog_engine(f"sqlite:///{store.resolve()}")
    if bulk:  # a file made for this rebuild: no journal while folding (a failed run is simply run again)

        @event.listens_for(engine, "connect")
        def _no_journal(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=OFF")  # each page written once, not to the WAL and again at checkpoint
            cur.execute("PRAGMA synchronous=OFF")
            cur.close()

    create_schema(engine)
    return engine


def projection() -> CatalogProjection:
    """The entry point `brainstream.projections: library`."""
    return CatalogProjection()
