"""Seal the account documents an older version stored in plain text in the `settings` KV, and get the plain bytes
off the disk.

The gateway seals every account document it writes (`infra.secretbox`), and readers still accept a plain one, so an
old install keeps working and each document is sealed at its next change. Its plain revisions, though, would stay
in the bucket's history and in the JetStream files: a KV stream refuses message deletes (and cannot be told
otherwise), and a purge only marks messages deleted in their block file. So, once, at provisioning time (`brainstream
up` before it starts any service, `brainstream provision` in compose before the services start), a bucket that
holds any plain account revision is rebuilt: its current values are kept, the account documents sealed, the stream
deleted (the server removes its files) and made again with those values.

Crash safety: the values go to a backup file (mode 0600; what it holds is sealed) before the stream is deleted, and
a backup found at the next run is put back first.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, NoKeysError, NotFoundError

from contracts.livesettings import SETTINGS_BUCKET

from .provision import provision
from .secretbox import SecretBox, is_sealed, seal_document
from .secretfiles import make_private

__all__ = ["seal_settings"]

log = logging.getLogger(__name__)

_SECRET_PREFIX = "user."  # keys whose documents hold secrets


async def seal_settings(js: JetStreamContext, box: SecretBox, backup: Path) -> int:
    """Rebuild the settings bucket if any account revision in it is plain; returns how many keys were sealed."""
    interrupted = _read_backup(backup)
    if interrupted is not None:
        log.warning("putting back %d settings from %s (a rebuild was interrupted)", len(interrupted), backup)
        await _recreate(js, interrupted)
        _drop(backup)
    try:
        kv = await js.key_value(SETTINGS_BUCKET)
    except BucketNotFoundError:
        return 0
    try:
        keys = await kv.keys()
    except NoKeysError:
        return 0
    plain_keys: set[str] = set()
    for key in keys:
        if not key.startswith(_SECRET_PREFIX):
            continue
        try:
            history = await kv.history(key)
        except NoKeysError:
            continue
        if any(e.value and not is_sealed(e.value) for e in history):
            plain_keys.add(key)
    if not plain_keys:
        return 0
    values: dict[str, bytes] = {}
    for key in keys:
        try:
            entry = await kv.get(key)
        except (NotFoundError, NoKeysError):
            continue  # deleted in the meantime
        value = entry.value or b""
        if key.startswith(_SECRET_PREFIX) and value and not is_sealed(value):
            value = seal_document(box, value)
        values[key] = value
    _write_backup(backup, values)
    await _recreate(js, values)
    _drop(backup)
    log.warning(
        "the settings bucket held %d account(s) in plain text (%s): sealed, and the bucket rebuilt so no plain "
        "copy stays in its history or files",
        len(plain_keys),
        ", ".join(sorted(plain_keys)),
    )
    return len(plain_keys)


def _write_backup(path: Path, values: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.touch(mode=0o600)
    make_private(tmp)
    tmp.write_text(json.dumps({k: base64.b64encode(v).decode() for k, v in values.items()}))
    tmp.replace(path)


def _read_backup(path: Path) -> dict[str, bytes] | None:
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return {k: base64.b64decode(v) for k, v in stored.items()}


def _drop(path: Path) -> None:
    path.unlink(missing_ok=True)


async def _recreate(js: JetStreamContext, values: dict[str, bytes]) -> None:
    with contextlib.suppress(NotFoundError):  # an interrupted run got as far as deleting it
        await js.delete_key_value(SETTINGS_BUCKET)
    await provision(js)  # makes the missing bucket as declared; everything else is unchanged
    kv = await js.key_value(SETTINGS_BUCKET)
    for key, value in values.items():
        await kv.put(key, value)
