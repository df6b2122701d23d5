"""Catalog fixtures on SQLite and, when a server answers, PostgreSQL (each test in its own schema)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from library_svc.adapters.catalog import SqlCatalog

# helper modules of this folder (library_fakes, library_builders, library_engines) import by name
sys.path.insert(0, str(Path(__file__).parent))

from library_engines import ENGINES, open_engine


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with open_engine(request.param, tmp_path) as eng:
        yield eng


@pytest.fixture
def catalog(engine: Engine) -> SqlCatalog:
    return SqlCatalog(engine)
