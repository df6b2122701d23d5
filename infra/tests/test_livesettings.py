"""Live settings: a change in the KV bucket reaches a running service without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nats.js import JetStreamContext

from contracts.livesettings import PIPELINE_KEY, SETTINGS_BUCKET, PipelineSettings, UserAccounts, user_key
from infra.livesettings import LiveSettings
from infra.secretbox import KeySource, SecretBox, load_or_create_key, seal_document
from tests.support.wait import wait_until


async def test_initial_values_then_live_changes(provisioned: JetStreamContext) -> None:
    kv = await provisioned.key_value(SETTINGS_BUCKET)
    await kv.put(PIPELINE_KEY, b'{"run_size": 25}')
    live = LiveSettings()
    changed: list[str] = []
    live.on_change(changed.append)
    await live.start(provisioned)
    try:
        assert live.pipeline.run_size == 25  # present before start() returned
        await kv.put(PIPELINE_KEY, PipelineSettings(run_size=40, cf_ratio=0.5).model_dump_json().encode())
        await wait_until(lambda: live.pipeline.run_size == 40, timeout=5)
        assert live.pipeline.cf_ratio == 0.5
        await kv.put(
            user_key("alice"), UserAccounts(username="alice", listenbrainz_user="al").model_dump_json().encode()
        )
        await wait_until(lambda: "alice" in live.users, timeout=5)
        await kv.put(PIPELINE_KEY, b'{"run_size": "lots"}')  # invalid: the last good value stays
        await kv.delete(user_key("alice"))
        await wait_until(lambda: "alice" not in live.users, timeout=5)
        assert live.pipeline.run_size == 40
        assert changed.count(PIPELINE_KEY) >= 3
    finally:
        await live.stop()
    await asyncio.sleep(0)


def test_user_key_refuses_names_that_would_break_the_key() -> None:
    import pytest

    assert user_key("bob_1") == "user.bob_1"
    with pytest.raises(ValueError, match="letters"):
        user_key("a.b")


def test_sealed_accounts_are_opened_with_the_key_and_plain_ones_from_before_are_still_read(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    box = SecretBox(load_or_create_key(None, tmp_path / "gateway" / "secret.key"))
    assert (tmp_path / "gateway" / "secret.key").stat().st_mode & 0o777 == 0o600
    doc = UserAccounts(username="alice", listenbrainz_user="al", listenbrainz_token="tok-1").model_dump_json()
    sealed = seal_document(box, doc.encode())
    assert b"tok-1" not in sealed and b"alice" not in sealed

    reader = LiveSettings(KeySource(None, tmp_path / "gateway" / "secret.key"))  # as ingest-svc builds it
    reader.apply(user_key("alice"), sealed)
    assert reader.users["alice"].listenbrainz_token == "tok-1"
    plain = UserAccounts(username="bob", listenbrainz_token="tok-2").model_dump_json().encode()
    reader.apply(user_key("bob"), plain)  # written before values were sealed
    assert reader.users["bob"].listenbrainz_token == "tok-2"

    keyless = LiveSettings(KeySource(None, tmp_path / "nowhere.key"))
    keyless.apply(user_key("alice"), sealed)  # logged, not applied
    other = LiveSettings(lambda: SecretBox(Fernet.generate_key()))
    other.apply(user_key("alice"), sealed)
    assert "alice" not in keyless.users and "alice" not in other.users
    no_accounts = LiveSettings()  # a service that reads no accounts (acquire-svc) passes no key: it skips them
    no_accounts.apply(user_key("alice"), sealed)
    assert no_accounts.users == {}
    other.apply(user_key("alice"), plain.replace(b"bob", b"alice"))
    resealed = seal_document(SecretBox(Fernet.generate_key()), doc.encode())
    other.apply(user_key("alice"), resealed)  # the wrong key: the last good value stays
    assert other.users["alice"].listenbrainz_token == "tok-2"
