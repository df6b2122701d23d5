"""The accounts database gateway replicas share: people, sessions and time zones seen alike by two processes' stores,
on the SQLite file one host's replicas share and on PostgreSQL (BRAINSTREAM_GATEWAY_DB_URL) for several hosts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, text

from gateway.auth.crypto import SecretBox
from gateway.auth.users import Users
from gateway.db import adopt_local_accounts, make_accounts_engine, make_engine
from gateway.insights.api import Prefs
from gateway.insights.summary import SummaryStore
from gateway.settings import Settings
from infra.secretbox import load_or_create_key

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_answers() -> bool:
    try:
        with create_engine(PG, connect_args={"connect_timeout": 2}).connect() as conn:
            conn.execute(text("select 1"))
    except Exception:  # any failure to reach it means "no PostgreSQL here"
        return False
    return True


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_engines(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """Two engines on one accounts database, as two replicas open it."""
    if request.param == "sqlite":
        engines = (
            make_accounts_engine(None, tmp_path / "gateway.db"),
            make_accounts_engine(None, tmp_path / "gateway.db"),
        )
        yield engines
        for e in engines:
            e.dispose()
        return
    if not _postgres_answers():
        pytest.skip("no PostgreSQL answers at 127.0.0.1:5432 (user postgres, database test)")
    schema = f"gw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = Settings.model_validate({"BRAINSTREAM_GATEWAY_DB_URL": f"{PG}?options=-csearch_path%3D{schema}"}).db_url
    assert url is not None
    engines = (make_accounts_engine(url, tmp_path / "unused.db"), make_accounts_engine(url, tmp_path / "unused.db"))
    try:
        yield engines
    finally:
        for e in engines:
            e.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_two_replicas_share_people_sessions_app_passwords_and_time_zones(
    two_engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    box = SecretBox(load_or_create_key(None, tmp_path / "secret.key"))
    a, b = (Users(e, box, cache_s=0.2) for e in two_engines)
    a.create("ana", "ana-password-1", is_admin=True)
    assert b.check_password("ana", "ana-password-1") is not None

    cookie, csrf = a.open_session("ana")
    seen = b.session_principal(cookie)
    assert seen is not None and seen.username == "ana" and seen.csrf == csrf
    b.close_session(cookie)
    assert a.session_principal(cookie) is None  # logged out on one replica: out on every one

    old = b.app_password("ana")
    new = a.rotate_app_password("ana")
    deadline = time.monotonic() + 5
    while b.app_password("ana") == old and time.monotonic() < deadline:
        time.sleep(0.05)
    assert b.app_password("ana") == new and b.user_by_app_password(old or "") is None

    pa, pb = (Prefs(e, ZoneInfo("UTC")) for e in two_engines)
    pa.set_zone("ana", "Europe/Berlin")
    assert pb.zone("ana") == ZoneInfo("Europe/Berlin")
    pb.set_zone("ana", None)
    assert pa.zone("ana") == ZoneInfo("UTC")


def test_an_insights_summary_written_through_one_replica_is_read_by_the_other(
    two_engines: tuple[Engine, Engine],
) -> None:
    a, b = (SummaryStore(e) for e in two_engines)
    a.put("ana", "week:2026-05-04", {"plays": 12}, "pending", model="llama3.1")
    assert b.get("ana", "week:2026-05-04") is not None  # b sees it pending: it does not ask the LLM a second time
    b.put("ana", "week:2026-05-04", {"plays": 12}, "done", prose="A quiet week.", model="llama3.1")
    done = a.get("ana", "week:2026-05-04")
    assert done is not None and done["state"] == "done" and done["prose"] == "A quiet week."
    assert done["facts"] == {"plays": 12}


def test_moving_to_a_shared_accounts_database_keeps_every_login(
    two_engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    box = SecretBox(load_or_create_key(None, tmp_path / "secret.key"))
    local = make_engine(tmp_path / "one-host" / "gateway.db")  # what a lone gateway kept so far
    before = Users(local, box)
    before.create("ana", "ana-password-1", is_admin=True)
    before.create("ben", "ben-password-1")
    cookie, _ = before.open_session("ben")
    token = before.create_token("ana", "scripts")[1]
    Prefs(local, ZoneInfo("UTC")).set_zone("ana", "Europe/Berlin")
    local.dispose()

    shared = two_engines[0]
    assert adopt_local_accounts(shared, tmp_path / "one-host" / "gateway.db") == 2
    after = Users(shared, box)
    assert after.check_password("ben", "ben-password-1") is not None
    seen = after.session_principal(cookie)
    assert seen is not None and seen.username == "ben"
    by_token = after.token_principal(token)
    assert by_token is not None and by_token.username == "ana" and by_token.is_admin
    assert Prefs(shared, ZoneInfo("UTC")).zone("ana") == ZoneInfo("Europe/Berlin")
    # once the shared database has people, a host's old file is never copied over them again
    assert adopt_local_accounts(shared, tmp_path / "one-host" / "gateway.db") == 0
