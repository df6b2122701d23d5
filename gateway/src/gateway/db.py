"""The gateway's own SQLite database (users, sessions, tokens and the read model) under BRAINSTREAM_DATA_DIR, and the
accounts database replicas share (`make_accounts_engine`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, inspect
from sqlmodel import Session, SQLModel, create_engine, select

from infra.secretfiles import make_private

__all__ = ["adopt_local_accounts", "make_accounts_engine", "make_engine"]


def make_engine(path: Path) -> Engine:
    # users, sessions and sealed secrets: readable by the owner only; SQLite gives its -wal and -shm files the
    # database file's mode
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for own in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        make_private(own)
    engine = _sqlite(path)
    from .auth import rows as _auth_rows  # noqa: F401  (registers the tables)
    from .discoveries import rows as _discovery_rows  # noqa: F401
    from .readmodel import rows as _view_rows  # noqa: F401

    # replicas sharing the file start together: create_all checks, then creates, table by table, so two at once
    # could both try to create one ("table already exists"); one at a time, the second finds everything made
    with _file_lock(path.with_name(path.name + ".schema-lock")):
        SQLModel.metadata.create_all(engine)
        _add_new_columns(engine)
        # create_all adds no index to a table that already exists; a database made before the library browser
        # matched tracks by path needs this one
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_view_tracks_path ON view_tracks (path)")
    return engine


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def make_accounts_engine(url: str | None, path: Path) -> Engine:
    """People, sessions, API tokens and insight time zones: the one database every gateway replica shares.

    `url` (BRAINSTREAM_GATEWAY_DB_URL, e.g. PostgreSQL for replicas on several hosts), else the SQLite file at `path`
    (replicas on one host, or a volume they share)."""
    if url is None or url.startswith("sqlite:///"):
        return make_engine(Path(url.removeprefix("sqlite:///")) if url else path)
    engine = create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True)
    from .auth import rows as auth_rows

    with engine.connect() as lock:
        # replicas starting together make the tables one at a time (see make_engine)
        if engine.dialect.name == "postgresql":
            lock.exec_driver_sql(f"SELECT pg_advisory_lock({_SCHEMA_LOCK})")
        try:
            SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables[name] for name in auth_rows.TABLES])
            _add_new_columns(engine)
        finally:
            if engine.dialect.name == "postgresql":
                lock.exec_driver_sql(f"SELECT pg_advisory_unlock({_SCHEMA_LOCK})")
                lock.commit()
    return engine


_SCHEMA_LOCK = 0x6273_6777  # "bsgw": the advisory lock under which gateways make the accounts tables


def adopt_local_accounts(accounts: Engine, local: Path) -> int:
    """Moving to a shared accounts database (BRAINSTREAM_GATEWAY_DB_URL): while it has nobody yet, the people,
    sessions, tokens and time zones of this host's `gateway.db` are copied into it, so an upgrade keeps every login.
    Returns the number of people copied."""
    from .auth import rows as auth_rows

    if not local.exists() or accounts.url.database == str(local):
        return 0
    with Session(accounts) as s:
        if s.exec(select(auth_rows.UserRow.username)).first() is not None:
            return 0
    source = make_engine(local)
    try:
        with Session(source) as old, Session(accounts) as new:
            users = list(old.exec(select(auth_rows.UserRow)).all())
            for kind in (auth_rows.UserRow, auth_rows.SessionRow, auth_rows.TokenRow, auth_rows.InsightPrefRow):
                for row in old.exec(select(kind)).all():  # type: ignore[call-overload]
                    new.merge(kind.model_validate(row.model_dump()))
                new.flush()  # people before what refers to them
            new.commit()
    finally:
        source.dispose()
    return len(users)


def _sqlite(path: Path) -> Engine:
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
