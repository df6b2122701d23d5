"""A read tried on the event loop with a budget of SQLite steps: SQLite interrupts it when the budget is spent, and the
request is answered all the same from a worker thread."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.catalogreader import CatalogReader
from library_svc.adapters.database import create_catalog_engine, create_schema
from library_svc.adapters.userdata import UserStore
from library_svc.api.context import ApiContext
from library_svc.domain.model import TrackInfo
from library_svc.ports import OverBudget

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def sqlite(tmp_path: Path) -> Engine:
    engine = create_catalog_engine(f"sqlite:///{tmp_path / 'budget.db'}")
    create_schema(engine)
    infos = [
        TrackInfo(
            path=f"A{i % 7}/B{i % 13}/{i}.mp3",
            size=1000,
            mtime_ns=i,
            title=f"Title {i}" if i % 50 else f"Rare {i}",
            artist=f"Artist {i % 7}",
            album=f"Album {i % 13}",
            album_artist=f"Artist {i % 7}",
            created=T0 + timedelta(minutes=i),
        )
        for i in range(2000)
    ]
    SqlCatalog(engine).upsert(infos)
    return engine


class _Scanner:
    scanning, count = False, 0


def test_a_spent_budget_interrupts_and_the_connection_stays_usable(sqlite: Engine) -> None:
    reader = CatalogReader(sqlite)
    with pytest.raises(OverBudget), reader.with_connection(0):
        reader.search(["zzz"], (10, 10, 10), (0, 0, 0))
    with reader.with_connection(10**9):
        assert len(reader.search(["rare"], (10, 10, 100), (0, 0, 0))[2]) == 40


def test_an_interrupted_read_is_answered_from_a_worker_thread(
    sqlite: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = CatalogReader(sqlite)
    hops: list[str] = []
    to_thread = asyncio.to_thread

    async def counting(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn.__name__)
        return await to_thread(fn, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting)

    async def nothing(event: object) -> None:
        return None

    ctx = ApiContext(reader, UserStore(sqlite), tmp_path, _Scanner(), nothing, "test")
    args = (["rare"], (10, 10, 100), (0, 0, 5))
    roomy = asyncio.run(ctx.threads.with_state("ann", reader.search_flat, *args, bounded=False, budget=10**9))
    assert hops == []  # answered on the event loop
    spent = asyncio.run(ctx.threads.with_state("ann", reader.search_flat, *args, bounded=False, budget=0))
    assert hops == ["both"]  # interrupted, then answered by a worker thread
    plain = asyncio.run(ctx.threads.with_state("ann", reader.search_flat, *args, bounded=False))
    assert [r.id for r in spent[0][2]] == [r.id for r in plain[0][2]]
    assert [r.id for r in roomy[0][2]] == [r.id for r in plain[0][2]]
    assert len(spent[0][2]) == 35
