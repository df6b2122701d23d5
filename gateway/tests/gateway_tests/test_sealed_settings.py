"""Account secrets at rest: sealed in the settings KV and in the JetStream files; plain ones from before are sealed
at provisioning and their plain bytes leave the disk; gateway.db readable by its owner only."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from nats.js import JetStreamContext

from contracts.livesettings import SETTINGS_BUCKET, UserAccounts, user_key
from infra.livesettings import LiveSettings
from infra.sealing import seal_settings
from infra.secretbox import KeySource, SecretBox, is_sealed
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until


def _files_holding(store: Path, needles: list[bytes]) -> set[bytes]:
    """Which of `needles` appear anywhere in the files under `store` (the server's JetStream directory)."""
    found: set[bytes] = set()
    for path in store.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found |= {n for n in needles if n in data}
    return found


async def test_account_secrets_are_sealed_in_kv_and_on_disk_and_old_plain_ones_are_sealed_at_provisioning(
    gateway_factory: Any, provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path
) -> None:
    kv = await provisioned.key_value(SETTINGS_BUCKET)
    old_token, older_token, new_secret = (f"tok-{uuid.uuid4().hex}".encode() for _ in range(3))
    for token in (older_token, old_token):  # two revisions, as a gateway from before sealing wrote them
        doc = UserAccounts(username="carol", listenbrainz_user="carol_lb", listenbrainz_token=token.decode())
        await kv.put(user_key("carol"), doc.model_dump_json().encode())
    store = nats_endpoint.server.store_dir if nats_endpoint.server else None
    if store is not None:  # the plain values really are on disk, so finding none later means something
        await wait_until(lambda: _files_holding(store, [old_token, older_token]), predicate=lambda f: len(f) == 2)

    await kv.put("pipeline", b'{"run_size": 7}')
    key = Fernet.generate_key().decode()
    backup = tmp_path / "secrets" / "settings-backup.json"
    # what `brainstream up` (and `brainstream provision`) does before any service starts
    assert await seal_settings(provisioned, SecretBox(key.encode()), backup) == 1
    assert await seal_settings(provisioned, SecretBox(key.encode()), backup) == 0  # once
    kv = await provisioned.key_value(SETTINGS_BUCKET)
    history = await kv.history(user_key("carol"))
    assert len(history) == 1 and is_sealed(history[0].value or b"")  # no plain revision left behind
    assert (await kv.get("pipeline")).value == b'{"run_size": 7}' and not backup.exists()
    reader = LiveSettings(KeySource(key, tmp_path / "unused.key"))  # ingest-svc's reader, with the same key
    reader.apply(user_key("carol"), history[0].value or b"")
    assert reader.users["carol"].listenbrainz_token == old_token.decode()

    gw = await gateway_factory(BRAINSTREAM_SECRET_KEY=key)

    admin = await gw.login()
    made = await admin.put(
        "/api/users/admin/accounts", json={"spotify_client_id": "cid", "spotify_client_secret": new_secret.decode()}
    )
    assert made.status_code == 200, made.text
    raw = (await kv.get(user_key("admin"))).value or b""
    assert is_sealed(raw) and new_secret not in raw
    reader.apply(user_key("admin"), raw)
    assert reader.users["admin"].spotify_client_secret == new_secret.decode()
    if store is not None:
        await wait_until(lambda: _files_holding(store, [old_token, older_token, new_secret]), predicate=lambda f: not f)

    home = gw.settings.data_dir / "gateway"
    assert home.stat().st_mode & 0o777 == 0o700
    for name in ("gateway.db", "gateway.db-wal"):
        assert (home / name).stat().st_mode & 0o777 == 0o600, name


async def test_a_rebuild_interrupted_after_its_backup_is_finished_at_the_next_run(
    provisioned: JetStreamContext, tmp_path: Path
) -> None:
    box = SecretBox(Fernet.generate_key())
    backup = tmp_path / "settings-backup.json"
    sealed = b"fernet:" + box.seal('{"username": "dan"}').encode()
    backup.write_text(json.dumps({"user.dan": base64.b64encode(sealed).decode(), "pipeline": "e30="}))
    await provisioned.delete_key_value(SETTINGS_BUCKET)  # it stopped right after deleting the bucket
    assert await seal_settings(provisioned, box, backup) == 0
    kv = await provisioned.key_value(SETTINGS_BUCKET)
    assert (await kv.get(user_key("dan"))).value == sealed and (await kv.get("pipeline")).value == b"{}"
    assert not backup.exists()
