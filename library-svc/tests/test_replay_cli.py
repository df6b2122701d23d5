"""`brainstream replay library`: the catalog rebuilt from LIBRARY equals the one the running service built.

Real nats-server, real SQLite, real audio files; the command runs as its own process, as an operator runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from library_builders import tagged
from library_server import free_port
from nats.js import JetStreamContext
from sqlalchemy import insert, select

from contracts.gateway import RemoveTrack
from contracts.library import ScanCompleted, TrackImported, TrackRemoved
from infra.ops.replay import ReplayFailed, ReplayOptions, replay
from library_svc.adapters.database import create_catalog_engine
from library_svc.adapters.schema import projection_t, star_t
from library_svc.app import Service, build, serve
from library_svc.replay import CatalogProjection
from library_svc.settings import Settings
from tests.support.audio import make_audio
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until


@pytest.fixture
def settings(nats_endpoint: NatsEndpoint, tmp_path: Path) -> Settings:
    return Settings(
        NATS_URL=nats_endpoint.url,
        BRAINSTREAM_DATA_DIR=tmp_path / "data",
        BRAINSTREAM_MUSIC_DIR=tmp_path / "music",
        BRAINSTREAM_LIBRARY_HTTP_PORT=free_port(),
    )


@pytest.fixture
async def running(settings: Settings, provisioned: JetStreamContext) -> AsyncIterator[Service]:
    service = build(settings)
    task = asyncio.create_task(serve(service))
    try:
        await started(provisioned)
        yield service
    finally:
        await stop(service, task)


async def started(js: JetStreamContext) -> None:
    """The start-up scan is done. A scan that walks the folder while an import lands there indexes the new file
    from its tags (a race of the live service, not of the replay), so imports wait for it."""
    await wait_until(lambda: stored(js, ScanCompleted.subject), timeout=30)


async def stop(service: Service, task: asyncio.Task[None]) -> None:
    service.runtime.request_stop()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, 20)


async def brainstream(settings: Settings, *args: str) -> tuple[int, str, str]:
    """Run the command in a process of its own, with the service's environment."""
    env = {
        **os.environ,
        "NATS_URL": settings.nats_url,
        "BRAINSTREAM_DATA_DIR": str(settings.data_dir),
        "BRAINSTREAM_MUSIC_DIR": str(settings.music_dir),
        "COLUMNS": "200",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "infra.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def stored(js: JetStreamContext, subject: str) -> list[tuple[int, bytes]]:
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy="all")  # type: ignore[arg-type]
    out: list[tuple[int, bytes]] = []
    try:
        while True:
            msg = await sub.next_msg(timeout=0.3)
            out.append((msg.metadata.sequence.stream, msg.data))
    except TimeoutError:
        pass
    finally:
        await sub.unsubscribe()
    return out


async def publish(js: JetStreamContext, *events: Any) -> None:
    for event in events:
        await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})


async def imported(js: JetStreamContext, count: int) -> list[tuple[int, TrackImported]]:
    raw = await wait_until(
        lambda: stored(js, TrackImported.subject), timeout=30, predicate=lambda got: len(got) >= count
    )
    return [(seq, TrackImported.from_json(data)) for seq, data in raw]


def live_db(settings: Settings) -> Path:
    return Path(settings.db_url.removeprefix("sqlite:///"))


def differences(live: dict[str, list[tuple[Any, ...]]], rebuilt: dict[str, list[tuple[Any, ...]]]) -> list[Any]:
    """Where two dumps differ, row by row and field by field, for a readable failure."""
    out: list[Any] = []
    for table in live:
        a, b = live[table], rebuilt.get(table, [])
        if len(a) != len(b):
            out.append((table, f"{len(a)} rows live, {len(b)} rebuilt"))
        for ra, rb in zip(a, b, strict=False):
            out.extend((table, ra[0], i, x, y) for i, (x, y) in enumerate(zip(ra, rb, strict=False)) if x != y)
    return out


def paths(dump: dict[str, list[tuple[Any, ...]]]) -> set[str]:
    return {row[1] for row in dump["track"]}  # (id, path, …)


async def test_replay_rebuilds_the_live_catalog_and_refuses_to_touch_it_while_the_service_runs(
    settings: Settings, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    js = provisioned
    service = build(settings)
    task = asyncio.create_task(serve(service))
    try:
        await started(js)
        events = [tagged(tmp_path / "staging", n, fmt=fmt) for n, fmt in enumerate(["mp3", "flac", "ogg", "m4a"], 1)]
        await publish(js, *events)
        done = await imported(js, 4)
        gone = done[1][1]
        await publish(js, RemoveTrack(track_id=gone.track_id, user="admin"))
        await wait_until(lambda: stored(js, TrackRemoved.subject), timeout=30)
        later = tagged(tmp_path / "staging", 5, fmt="opus", album="Second Light")
        await publish(js, later)
        await imported(js, 5)
        projection = CatalogProjection(settings)
        live = await asyncio.to_thread(projection.dump, live_db(settings))
        assert len(live["track"]) == 4 and gone.path not in paths(live)

        # while it runs, the live store is not to be replaced
        code, _, err = await brainstream(settings, "replay", "library")
        assert code == 2, err
        assert "library-svc is running" in err and "--into" in err
        code, _, err = await brainstream(settings, "replay", "library", "--into", str(live_db(settings)))
        assert code == 2 and "library-svc is running" in err, err  # naming the live file is no way around it

        # ...but a rebuild into another file is fine, and gives the same catalog
        fresh = tmp_path / "rebuilt" / "catalog.db"
        code, out, err = await brainstream(settings, "replay", "library", "--into", str(fresh), "--json")
        assert code == 0, err
        report = json.loads(out)
        assert report["counts"] == {"imported": 5, "removed": 1} and report["installed_into"] is None
        rebuilt = await asyncio.to_thread(projection.dump, fresh)
        assert rebuilt == live, differences(live, rebuilt)
        assert gone.path not in paths(rebuilt)  # the removal was replayed
    finally:
        await stop(service, task)

    # stopped: the live store is rebuilt in place; user data in the same database stays
    engine = create_catalog_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(insert(star_t).values(username="admin", item_id=done[0][1].track_id, kind="song",
                                           starred_at=datetime(2026, 1, 2, tzinfo=UTC)))  # fmt: skip
        tagged_position = conn.execute(select(projection_t).where(projection_t.c.name == "library_tagged")).one()
    code, out, err = await brainstream(settings, "replay", "library", "--json")
    assert code == 0, err
    assert json.loads(out)["installed_into"] == str(live_db(settings))
    after = await asyncio.to_thread(projection.dump, live_db(settings))
    assert after == live, differences(live, after)
    with engine.connect() as conn:
        assert conn.execute(select(star_t.c.item_id)).scalars().all() == [done[0][1].track_id]
        positions = dict(conn.execute(select(projection_t.c.name, projection_t.c.position)).all())
    engine.dispose()
    assert positions["library_tagged"] == tagged_position.position  # the service's own position is kept
    assert positions["library_events"] == max(seq for seq, _ in await stored(js, "library.track.>"))
    assert not list(live_db(settings).parent.glob(".catalog.db.replay*"))  # the scratch file is gone

    # and the human form: progress, a table per stream, the rate
    code, out, err = await brainstream(settings, "replay", "library", "--into", str(tmp_path / "again.db"))
    assert code == 0, err
    assert "LIBRARY" in out and "events/s" in out and "imported" in out


async def test_replay_from_a_sequence_or_a_time_folds_only_what_follows(
    settings: Settings, running: Service, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    js = provisioned
    first = [tagged(tmp_path / "staging", n) for n in (1, 2, 3)]
    await publish(js, *first)
    await imported(js, 3)
    cut = datetime.now(UTC)
    second = [tagged(tmp_path / "staging", n, album="After The Cut") for n in (4, 5)]
    await publish(js, *second)
    done = await imported(js, 5)
    later_paths = {event.path for _, event in done[3:]}
    projection = CatalogProjection(settings)

    code, out, err = await brainstream(
        settings,
        "replay",
        "library",
        "--into",
        str(tmp_path / "seq.db"),
        "--from-seq",
        f"LIBRARY:{done[3][0]}",
        "--json",
    )
    assert code == 0, err
    assert paths(await asyncio.to_thread(projection.dump, tmp_path / "seq.db")) == later_paths
    assert json.loads(out)["streams"][0]["first_seq"] == done[3][0]

    code, out, err = await brainstream(
        settings, "replay", "library", "--into", str(tmp_path / "since.db"), "--since", cut.isoformat(), "--json"
    )
    assert code == 0, err
    assert paths(await asyncio.to_thread(projection.dump, tmp_path / "since.db")) == later_paths

    # on top of the store as it is, what its position says it has is not folded twice
    before = await asyncio.to_thread(projection.dump, tmp_path / "seq.db")
    code, out, err = await brainstream(
        settings, "replay", "library", "--into", str(tmp_path / "seq.db"), "--from-seq", "1", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["applied"] == 0
    assert await asyncio.to_thread(projection.dump, tmp_path / "seq.db") == before

    for bad in (["--from-seq", "0"], ["--from-seq", "ACQUIRE:3"], ["--since", "yesterday-ish"]):
        code, _, err = await brainstream(settings, "replay", "library", "--into", str(tmp_path / "x.db"), *bad)
        assert code == 2 and bad[1] in err, err


async def test_old_import_events_are_completed_from_the_file(
    settings: Settings, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    """Events written before TrackImported carried its catalog entry: the fold reads the file, or skips a gone one."""
    js = provisioned
    music = settings.music_dir
    make_audio(
        music / "Old Artist" / "Old Album" / "01 Kept.mp3",
        "mp3",
        1.0,
        tags={"title": "Kept", "artist": "Old Artist", "album": "Old Album"},
    )
    old = [
        TrackImported(
            recording_mbid=uuid.uuid4(), track_id="t1", path="Old Artist/Old Album/01 Kept.mp3", size_bytes=1
        ),
        TrackImported(
            recording_mbid=uuid.uuid4(), track_id="t2", path="Old Artist/Old Album/02 Gone.mp3", size_bytes=1
        ),
    ]
    await publish(js, *old)
    store = tmp_path / "old.db"
    code, out, err = await brainstream(settings, "replay", "library", "--into", str(store), "--json")
    assert code == 0, err
    assert json.loads(out)["counts"] == {"imported": 1, "read from file": 1, "skipped (file gone)": 1}
    [row] = (await asyncio.to_thread(CatalogProjection(settings).dump, store))["track"]
    engine = create_catalog_engine(f"sqlite:///{store}")
    with engine.connect() as conn:
        from library_svc.adapters.schema import track_t

        title, artist, duration, mbid = conn.execute(
            select(track_t.c.title, track_t.c.artist, track_t.c.duration, track_t.c.recording_mbid)
        ).one()
    engine.dispose()
    assert (title, artist, duration, mbid) == ("Kept", "Old Artist", 1, str(old[0].recording_mbid))
    assert row[1] == old[0].path


@pytest.mark.parametrize("where", [0, 3], ids=["decoded-while-reading", "decoded-by-the-fold-process"])
async def test_a_malformed_event_stops_the_replay_instead_of_being_skipped(
    settings: Settings, provisioned: JetStreamContext, tmp_path: Path, where: int
) -> None:
    """Batches of two: the first is decoded where the stream is read, the second in the fold's process; an event
    that does not validate fails the run wherever it was decoded, with pydantic's account of it."""
    js = provisioned
    events = [
        TrackImported(recording_mbid=uuid.uuid4(), track_id=f"t{i}", path=f"A/B/{i:02} T.mp3", size_bytes=1)
        for i in range(5)
    ]
    for i, event in enumerate(events):
        data = event.to_json()
        if i == where:
            broken = json.loads(data)
            broken["size_bytes"] = "large"
            data = json.dumps(broken).encode()
        await js.publish(event.subject, data)
    projection = CatalogProjection(settings)
    with pytest.raises(ReplayFailed, match="validation error for TrackImported"):
        await replay(js, projection, tmp_path / "broken.db", ReplayOptions(batch=2))


async def test_the_fold_process_reads_old_events_files_from_the_projections_own_music_folder(
    settings: Settings, provisioned: JetStreamContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fold process gets the music folder of the projection it was given, not whatever its environment says."""
    monkeypatch.setenv("BRAINSTREAM_MUSIC_DIR", str(tmp_path / "elsewhere"))
    make_audio(settings.music_dir / "A" / "B" / "01 Here.mp3", "mp3", 1.0, tags={"title": "Here", "artist": "A"})
    await publish(
        js := provisioned,
        TrackImported(recording_mbid=uuid.uuid4(), track_id="t1", path="A/B/01 Here.mp3", size_bytes=1),
    )
    result = await replay(js, CatalogProjection(settings), tmp_path / "here.db", ReplayOptions())
    assert result.counts == {"imported": 1, "read from file": 1}
    [row] = (await asyncio.to_thread(CatalogProjection(settings).dump, tmp_path / "here.db"))["track"]
    assert row[1] == "A/B/01 Here.mp3"
