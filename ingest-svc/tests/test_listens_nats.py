"""Listens on a real nats-server: a crash between publish and cursor save loses nothing and duplicates nothing."""

from __future__ import annotations

import json

import pytest
from nats.js import JetStreamContext

from contracts.livesettings import UserAccounts
from infra.http import ApiClient
from ingest_svc.adapters.kv import KvCursorStore, KvListenGate
from ingest_svc.adapters.listen_feeds import ListenBrainzFeed
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.domain.listens import ListenCursor
from ingest_svc.health import SourceHealth
from ingest_svc.service import ListenService
from tests.support.fakeweb import FakeWeb

from .fakes import FakeListenBrainz, JsPublisher, lb_listen, stream_events

ALICE = UserAccounts(username="alice", listenbrainz_user="alice")
T0 = 1_700_000_000


class Crash(Exception):
    """The process dies here."""


class CrashOnCursorSave(KvCursorStore):
    async def save_listens(self, user: str, source: str, cursor: ListenCursor) -> None:
        raise Crash("killed after publishing, before the cursor save")


class CrashOnGateDone(KvListenGate):
    def __init__(self, kv, after: int) -> None:  # type: ignore[no-untyped-def]
        super().__init__(kv)
        self.left = after

    async def done(self, key: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise Crash("killed after publishing, before marking the play done")
        await super().done(key)


async def _service(js: JetStreamContext, cursors: KvCursorStore | None = None, gate: KvListenGate | None = None):  # type: ignore[no-untyped-def]
    return ListenService(
        cursors or await KvCursorStore.open(js),
        gate or await KvListenGate.open(js),
        JsPublisher(js),
        SourceHealth(),
        lookback_s=3600,
        concurrency=64,
    )


async def _recorded(js: JetStreamContext) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(b) for b in await stream_events(js, "INGEST", "ingest.listen.recorded")]


@pytest.mark.parametrize("crash", ["cursor_save", "gate_done"])
async def test_crash_between_publish_and_cursor_save_loses_and_duplicates_nothing(
    provisioned: JetStreamContext, fake_web: FakeWeb, lb_client: ApiClient, crash: str
) -> None:
    FakeListenBrainz(fake_web, listens=[lb_listen(T0 + i * 60, i) for i in range(1500)])
    feed = ListenBrainzFeed(ListenBrainz(lb_client), page_size=1000)
    if crash == "cursor_save":
        doomed = await _service(provisioned, cursors=CrashOnCursorSave(await provisioned.key_value("ingest_cursors")))
    else:
        doomed = await _service(provisioned, gate=CrashOnGateDone(await provisioned.key_value("listen_gate"), 700))
    with pytest.raises(Crash):
        await doomed.poll("alice", ALICE, feed, 0)
    assert len(await _recorded(provisioned)) >= 700  # part of the history reached the stream before the crash

    restarted = await _service(provisioned)  # a new process: only NATS remembers anything
    result = await restarted.poll("alice", ALICE, feed, 0)
    events = await _recorded(provisioned)
    assert len(events) == 1500
    assert len({e["event_id"] for e in events}) == 1500
    assert sorted(e["listened_at"] for e in events) == sorted({e["listened_at"] for e in events})
    assert result.cursor == T0 + 1499 * 60
    cursor = await (await KvCursorStore.open(provisioned)).listens("alice", "listenbrainz")
    assert cursor is not None and cursor.newest_ts == T0 + 1499 * 60

    # a later poll reads the lookback window again and records nothing twice
    again = await restarted.poll("alice", ALICE, feed, 0)
    assert again.recorded == 0 and again.seen > 0
    assert len(await _recorded(provisioned)) == 1500


async def test_same_play_twice_is_one_listen_and_a_real_repeat_is_kept(
    provisioned: JetStreamContext, fake_web: FakeWeb, lb_client: ApiClient
) -> None:
    same = lb_listen(T0, 1)
    repeat_later = lb_listen(T0 + 600, 1)  # the same track played again ten minutes later
    lb = FakeListenBrainz(fake_web, listens=[same, repeat_later, lb_listen(T0 + 300, 2)])
    svc = await _service(provisioned)
    feed = ListenBrainzFeed(ListenBrainz(lb_client), page_size=2)  # pages overlap on their boundary second
    first = await svc.poll("alice", ALICE, feed, 0)
    assert first.recorded == 3
    lb.listens.append(lb_listen(T0 + 120, 3))  # a backdated scrobble, inside the lookback window
    second = await svc.poll("alice", ALICE, feed, 0)
    assert second.recorded == 1
    events = await _recorded(provisioned)
    assert sorted((e["title"], e["listened_at"][:19]) for e in events) == [
        ("Track 1", "2023-11-14T22:13:20"),
        ("Track 1", "2023-11-14T22:23:20"),
        ("Track 2", "2023-11-14T22:18:20"),
        ("Track 3", "2023-11-14T22:15:20"),
    ]
    one = next(e for e in events if e["title"] == "Track 1")
    assert one["source"] == "listenbrainz"
    assert one["source_ids"]["recording_msid"] == same["recording_msid"]
    assert one["isrc"] == "GBAFL1600001"
    assert one["raw"]["track_metadata"]["track_name"] == "Track 1"
