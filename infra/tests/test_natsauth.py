"""How processes sign in to NATS: the embedded server's credentials, the settings for an external one, redaction."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import nats
import pytest
from faststream.nats.security import NatsCredentials as CredsFile
from faststream.nats.security import NatsToken, NatsUserPassword

from infra.natsauth import NatsCredentials, embedded_credentials, redact, without_credentials
from infra.natsserver import start_nats_server
from infra.runtime import RuntimeSettings, ServiceRuntime
from infra.secretfiles import create_secret_file


@pytest.mark.parametrize(
    ("url", "shown", "stored"),
    [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://app:pw@nats:4222", "nats://app:***@nats:4222", "nats://nats:4222"),
        ("nats://s3cr3tT0ken@nats:4222", "nats://***@nats:4222", "nats://nats:4222"),  # a lone user part is a token
        ("nats://a:b@n1:4222,nats://a:b@n2:4223", "nats://a:***@n1:4222,nats://a:***@n2:4223", "nats://n1:4222,nats://n2:4223"),
        ("tls://u:p@[::1]:4222", "tls://u:***@[::1]:4222", "tls://[::1]:4222"),
    ],
)  # fmt: skip
def test_a_url_is_shown_without_its_password_and_stored_without_any_credential(
    url: str, shown: str, stored: str
) -> None:
    assert redact(url) == shown
    assert without_credentials(url) == stored


def test_settings_choose_one_way_to_sign_in_and_never_print_the_secret(tmp_path: Path) -> None:
    none = NatsCredentials.from_env({})
    assert not none and none.connect_options() == {} and none.broker_security() is None
    pair = NatsCredentials.from_env({"BRAINSTREAM_NATS_USER": "app", "BRAINSTREAM_NATS_PASSWORD": "pw-1"})
    assert pair.connect_options() == {"user": "app", "password": "pw-1"}
    assert isinstance(pair.broker_security(), NatsUserPassword) and "pw-1" not in repr(pair)
    token = NatsCredentials.from_env({"BRAINSTREAM_NATS_TOKEN": "tok-1"})
    assert token.connect_options() == {"token": "tok-1"} and isinstance(token.broker_security(), NatsToken)
    creds = NatsCredentials.from_env({"BRAINSTREAM_NATS_CREDS": str(tmp_path / "app.creds")})
    assert creds.connect_options() == {"user_credentials": str(tmp_path / "app.creds")}
    assert isinstance(creds.broker_security(), CredsFile)
    assert NatsCredentials.from_env(pair.env()) == pair  # what the runner hands its children
    with pytest.raises(ValueError, match="user and a password"):
        token.server_config()


def test_embedded_credentials_are_made_once_for_the_owner_only(tmp_path: Path) -> None:
    assert embedded_credentials(tmp_path, create=False) is None
    made = embedded_credentials(tmp_path)
    assert made and made.user == "brainstream" and len(made.password or "") == 48
    assert (tmp_path / "auth.json").stat().st_mode & 0o777 == 0o600
    assert embedded_credentials(tmp_path) == made == embedded_credentials(tmp_path, create=False)
    # two processes racing to make a secret agree on the first one written
    assert create_secret_file(tmp_path / "k", b"first") == b"first"
    assert create_secret_file(tmp_path / "k", b"second") == b"first"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


async def test_a_service_signs_in_with_its_settings_and_a_stranger_is_refused(tmp_path: Path) -> None:
    creds = NatsCredentials("svc", "pw-" + "7" * 20)
    server = start_nats_server(tmp_path, extra_config=creds.server_config())
    try:
        assert (tmp_path / "run" / "nats-server.conf").stat().st_mode & 0o777 == 0o600
        assert json.dumps(creds.password) in (tmp_path / "run" / "nats-server.conf").read_text()
        with pytest.raises(nats.errors.Error, match="Authorization"):
            await nats.connect(server.url, allow_reconnect=False, connect_timeout=3)
        settings = RuntimeSettings(
            NATS_URL=server.url, BRAINSTREAM_NATS_USER="svc", BRAINSTREAM_NATS_PASSWORD=creds.password
        )
        runtime = ServiceRuntime("ingest-svc", "test", settings)
        await runtime.start()
        try:
            assert (await runtime.health()).checks["nats"]["connected"] is True
            assert creds.password not in repr(settings) and creds.password not in str(settings.model_dump())
        finally:
            await runtime.stop()

        # `brainstream provision` against an external NATS: refused without credentials (a message, not a
        # traceback), signed in with them from the settings or from the URL, and the password never printed
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NATS_", "BRAINSTREAM_"))}
        base["BRAINSTREAM_DATA_DIR"] = str(tmp_path / "cli-data")
        port = server.url.rsplit(":", 1)[1]
        runs = [
            {"NATS_URL": server.url},
            {"NATS_URL": server.url, "BRAINSTREAM_NATS_USER": "svc", "BRAINSTREAM_NATS_PASSWORD": creds.password},
            {"NATS_URL": f"nats://svc:{creds.password}@127.0.0.1:{port}"},
        ]
        argv = [sys.executable, "-m", "infra.cli", "provision"]
        done = [await asyncio.to_thread(subprocess.run, argv, env=base | e, capture_output=True, text=True, timeout=60)
                for e in runs]  # fmt: skip
        assert done[0].returncode == 1 and "Cannot reach NATS" in done[0].stderr and "Authorization" in done[0].stderr
        assert "Traceback" not in done[0].stderr
        assert [d.returncode for d in done[1:]] == [0, 0], [d.stderr for d in done]
        assert "already as declared" in done[2].stdout
        assert not [d for d in done if creds.password in d.stdout + d.stderr]
    finally:
        server.stop()
