"""Live settings: a change in the KV bucket reaches a running service without a restart."""

from __future__ import annotations

import asyncio

from nats.js import JetStreamContext

from contracts.livesettings import PIPELINE_KEY, SETTINGS_BUCKET, PipelineSettings, UserAccounts, user_key
from infra.livesettings import LiveSettings
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
