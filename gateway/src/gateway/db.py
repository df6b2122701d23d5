"""The gateway's own SQLite database (users, sessions, tokens and the read model) under BRAINSTREAM_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlmodel import SQLModel, create_engine

from infra.secretfiles import make_private

__all__ = ["make_engine"]


def make_engine(path: Path) -> Engine:
    # users, sessions and sealed secrets: readable by the owner only; SQLite gives its -wal and -shm files the
    # database file's mode
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for own in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        make_private(own)
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        # WAL: readers (API, SSE resume) never wait for the projection's writes
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    from .auth import rows as _auth_rows  # noqa: F401  (registers the tables)
    from .discoveries import rows as _discovery_rows  # noqa: F401
    from .readmodel import rows as _view_rows  # noqa: F401

    SQLModel.metadata.create_all(engine)
    _add_new_columns(engine)
    # create_all adds no index to a table that already exists; a database made before the library browser matched
    # tracks by path needs this one
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_view_tracks_path ON view_tracks (path)")
    return engine


def _add_new_columns(engine: Engine) -> None:
    """create_all makes missing tables, not missing columns: a database from before a column was added (a journey's
    retry state, a run's outcome) gets it here, empty. Every added column is nullable, so old rows stay valid."""
    found = inspect(engine)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if not found.has_table(table.name):
                continue
            have = {c["name"] for c in found.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
