"""Catalog engines for tests: a SQLite file, or a PostgreSQL schema of its own when a server answers.

A module of its own name, not `conftest`: test modules import it by name, and other folders have a `conftest` too.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from library_svc.adapters.database import create_catalog_engine, create_schema

__all__ = ["ENGINES", "open_engine"]

_PG_CANDIDATES = (
    "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg://root@127.0.0.1:5432/test",
)


def _postgres_url() -> str | None:
    urls = [os.environ["BRAINSTREAM_TEST_POSTGRES_URL"]] if os.environ.get("BRAINSTREAM_TEST_POSTGRES_URL") else []
    for url in [*urls, *_PG_CANDIDATES]:
        try:
            engine = create_engine(url, connect_args={"connect_timeout": 2})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            return url
        except Exception:
            continue
    return None


_PG_URL = _postgres_url()


ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def open_engine(kind: str, folder: Path) -> Iterator[Engine]:
    """A fresh catalog: a SQLite file in `folder`, or a PostgreSQL schema of its own, dropped afterwards."""
    if kind == "sqlite":
        eng = create_catalog_engine(f"sqlite:///{folder / 'catalog.db'}")
        create_schema(eng)
        try:
            yield eng
        finally:
            eng.dispose()
        return
    if _PG_URL is None:
        pytest.skip(
            "no PostgreSQL answers at 127.0.0.1:5432 (users postgres/root, database test) "
            "and BRAINSTREAM_TEST_POSTGRES_URL is not set"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = create_catalog_engine(f"{_PG_URL}?options=-csearch_path%3D{schema}")
    create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
