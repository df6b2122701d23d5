"""Composition: settings that fail fast, live settings that change the backends, boot clean-up of partials."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from acquire_svc.adapters.staging import Staging
from acquire_svc.app import build
from acquire_svc.settings import Settings
from contracts.livesettings import PipelineSettings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    def make(**env: str) -> Settings:
        monkeypatch.setenv("BRAINSTREAM_DATA_DIR", str(tmp_path))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Settings(_env_file=None)  # type: ignore[call-arg]

    return make


def test_missing_slskd_settings_fail_naming_the_variable(tmp_path: Path, settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError, match="BRAINSTREAM_SLSKD_URL"):
        settings(BRAINSTREAM_ACQUIRE_BACKENDS="slskd")
    with pytest.raises(ValidationError, match="unknown backend 'napster'"):
        settings(BRAINSTREAM_ACQUIRE_BACKENDS="inbox,napster")
    s = settings(BRAINSTREAM_ACQUIRE_BACKENDS="url,inbox,yt-dlp")
    assert s.staging == tmp_path / "staging" and s.inbox == tmp_path / "inbox"


def test_live_settings_change_backends_and_album_id(settings: Callable[..., Settings]) -> None:
    app = build(settings(BRAINSTREAM_ACQUIRE_BACKENDS="inbox,yt-dlp", BRAINSTREAM_TAG_ALBUM_MBID="1"))
    options = app.service.options
    assert options.backends() == ["inbox", "yt-dlp"] and options.album_mbid() is True
    app.live.apply(
        "pipeline", PipelineSettings(acquire_backends=["yt-dlp"], tag_album_mbid=False).model_dump_json().encode()
    )
    assert options.backends() == ["yt-dlp"] and options.album_mbid() is False
    # slskd named live but not configured in this process: left out rather than failing every track
    app.live.apply("pipeline", PipelineSettings(acquire_backends=["slskd", "inbox"]).model_dump_json().encode())
    assert options.backends() == ["inbox"]
    app.live.apply("pipeline", None, deleted=True)
    assert options.backends() == ["inbox", "yt-dlp"]


def test_boot_removes_orphaned_partials_and_only_those(tmp_path: Path) -> None:
    staging = Staging(tmp_path / "staging")
    staging.ensure()
    kept = staging.root / "0b9b6e1e-0000-4000-8000-000000000001.flac"
    kept.write_bytes(b"validated earlier")
    dead = staging.partial / "a-dead"
    dead.mkdir()
    (dead / ".lock").touch()
    (dead / "ytdlp.webm.part").write_bytes(b"half")
    stray = staging.partial / "stray.part"
    stray.write_bytes(b"x")
    live = staging.partial / "b-live"
    live.mkdir()
    (live / "inbox.mp3").write_bytes(b"copying")
    fd = os.open(live / ".lock", os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another replica would hold it (a separate open file description)
    try:
        removed = staging.remove_orphans()
    finally:
        os.close(fd)
    assert sorted(p.name for p in removed) == ["a-dead", "stray.part"]
    assert (live / "inbox.mp3").exists() and kept.exists()
