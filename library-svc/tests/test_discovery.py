"""The discovery lifecycle end to end: real nats-server, real SQLite, real audio files moved on disk, the built-in
server's real HTTP API, and an injected clock (weeks pass without waiting)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from libopensonic import Connection
from library_discovery import running_life
from library_fakes import RecordingPublisher
from library_server import ApiServer
from nats.js import JetStreamContext
from sqlalchemy import Engine, delete

from contracts.common import CandidateSource, ListenSource, MatchMethod
from contracts.discovery import (
    DiscoveryAdded,
    DiscoveryExpired,
    DiscoveryHated,
    DiscoveryKept,
    DiscoveryPurged,
    DiscoveryRestored,
    DiscoveryRules,
    DiscoveryRunsPaused,
    DiscoveryRunsResumed,
    ExpiryReason,
    FeedbackReceived,
    HateDiscovery,
    KeepReason,
    OwnedTrackRecommended,
    RestoreDiscovery,
    discovery_week,
)
from contracts.gateway import RemoveTrack
from contracts.ingest import ListenRecorded
from contracts.library import TrackImported, TrackRemoved
from contracts.livesettings import PipelineSettings, UserAccounts
from contracts.resolve import ListenMatched
from infra.ops.replay import ReplayOptions, replay
from library_svc.adapters.schema import playlist_entry_t, playlist_t
from library_svc.discovery.projection import DiscoveryProjection
from library_svc.discovery.store import DiscoveryStore
from tests.support.nats import NatsEndpoint


def other_device(tmp_path: Path) -> bool:
    shm = Path("/dev/shm")
    return shm.is_dir() and os.stat(shm).st_dev != os.stat(tmp_path).st_dev


def play(
    user: str, mbid: uuid.UUID | None, at: datetime, source: ListenSource = ListenSource.LISTENBRAINZ
) -> ListenRecorded:
    return ListenRecorded(
        user=user, source=source, listened_at=at, artist="x", title="y", duration_ms=200_000, recording_mbid=mbid
    )


async def test_a_week_of_picks_kept_or_expired_then_restored_replayed_and_seen_by_a_client(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    async with running_life(nats_endpoint, provisioned, tmp_path) as life:
        sources = [CandidateSource.CF, CandidateSource.RADIO, CandidateSource.PLAYLISTS] * 2
        picks = [await life.pick("ana", s) for s in sources]
        manual = await life.pick("ana", CandidateSource.MANUAL)
        unknown = await life.pick("ana", None)
        added = await life.added(6)
        week = discovery_week(datetime.now(UTC))
        assert [(a.track_id, a.week, a.position, a.user) for a in added] == [
            (p.track_id, week, i, "ana") for i, p in enumerate(picks)
        ]
        assert {a.source for a in added} == set(sources)
        assert manual.origin is CandidateSource.MANUAL and unknown.origin is None
        lists = await life.playlists("ana")
        assert lists == {"Discoveries": [p.track_id for p in picks], f"Discoveries {week}": [p.track_id for p in picks]}

        later = datetime.now(UTC) + timedelta(minutes=5)
        # pick 0: played, reported by ListenBrainz with its MBID
        await life.send(play("ana", picks[0].recording_mbid, later))
        # pick 1: a Subsonic play without MBID, matched by resolve-svc afterwards
        listen = play("ana", None, later, ListenSource.SUBSONIC)
        await life.send(listen)
        await life.send(
            ListenMatched(listen_id=listen.event_id, recording_mbid=picks[1].recording_mbid, method=MatchMethod.FUZZY)
        )
        kept = await life.wait_events(DiscoveryKept, 2)
        assert {(k.track_id, k.reason) for k in kept} == {
            (picks[0].track_id, KeepReason.PLAYED),
            (picks[1].track_id, KeepReason.PLAYED),
        }
        # pick 2 starred, pick 3 filed in a playlist of her own, through the built-in server
        # (each looked at once, without waiting for the tick)
        await asyncio.to_thread(life.rest, "ana", "createPlaylist", name="Road trip", songId=picks[3].track_id)
        await life.wait_events(DiscoveryKept, 3)
        await asyncio.to_thread(life.rest, "ana", "star", id=picks[2].track_id)
        kept = await life.wait_events(DiscoveryKept, 4)
        assert {k.track_id: (k.reason, k.detail) for k in kept[2:]} == {
            picks[2].track_id: (KeepReason.STARRED, "starred by ana"),
            picks[3].track_id: (KeepReason.IN_PLAYLIST, "in playlist Road trip"),
        }
        assert (await life.playlists("ana"))["Discoveries"] == [p.track_id for p in picks[4:]]

        # three weeks on: the unkept two expire to the trash
        life.clock.advance(days=21, minutes=1)
        await life.tick()
        expired = await life.wait_events(DiscoveryExpired, 2)
        assert [(e.track_id, e.reason, e.users) for e in expired] == [
            (p.track_id, ExpiryReason.UNKEPT, ["ana"]) for p in picks[4:]
        ]
        assert expired[0].detail == "not kept within 21d"
        assert expired[0].purge_at == life.clock.now + timedelta(days=7)
        for p in picks[4:]:
            assert not (life.music / p.path).exists() and (life.trash / p.path).is_file()
            assert await life.tombstone("ana", p.recording_mbid) == {
                "reason": "unkept",
                "artist": p.entry.artist if p.entry else "",
                "track_id": p.track_id,
            }
        removed = await life.wait_events(TrackRemoved, 2)
        assert {r.track_id for r in removed} == {p.track_id for p in picks[4:]}
        for p in [*picks[:4], manual, unknown]:
            assert (life.music / p.path).is_file()  # kept, manual and unknown-origin tracks stay
        assert len(list(life.music.rglob("*.*"))) == 2 + 6  # the two files that were there before, untouched
        lists = await life.playlists("ana")
        assert lists["Discoveries"] == [] and lists[f"Discoveries {week}"] == [p.track_id for p in picks[:4]]
        owned = await provisioned.key_value("library_owned")
        assert str(picks[4].recording_mbid) not in {k for k in await owned.keys()}

        # restore pick 4 from the Discoveries page: back in place, in the catalog and playlists, and kept
        await life.send(RestoreDiscovery(user="ana", track_id=picks[4].track_id))
        [restored] = await life.wait_events(DiscoveryRestored, 1)
        assert restored.path == picks[4].path and (life.music / picks[4].path).is_file()
        kept = await life.wait_events(DiscoveryKept, 5)
        assert (kept[-1].track_id, kept[-1].reason) == (picks[4].track_id, KeepReason.KEPT_IN_UI)
        assert await life.tombstone("ana", picks[4].recording_mbid) is None
        reimported = (await life.wait_events(TrackImported, 9))[-1]
        assert (reimported.track_id, reimported.path) == (picks[4].track_id, picks[4].path)
        song = await asyncio.to_thread(life.rest, "ana", "getSong", id=picks[4].track_id)
        assert song["song"]["title"] == "Pick 5"
        assert (await life.playlists("ana"))[f"Discoveries {week}"] == [p.track_id for p in picks[:5]]

        # a week later the trash is emptied of pick 5: no restore any more, the tombstone stays
        life.clock.advance(days=7)
        await life.tick()
        [purged] = await life.wait_events(DiscoveryPurged, 1)
        assert purged.track_id == picks[5].track_id and not (life.trash / picks[5].path).exists()
        assert await life.tombstone("ana", picks[5].recording_mbid) is not None

        # (h) a real Subsonic client library sees the same playlists with the same songs
        with ApiServer(
            life.service.scanner.catalog.engine, life.music, life.service.scanner, RecordingPublisher()
        ) as api:
            client = Connection("http://127.0.0.1", username="ana", password="unused", port=api.port)
            try:
                seen = {p.name: p for p in await asyncio.to_thread(client.get_playlists)}
                assert set(seen) >= {"Discoveries", f"Discoveries {week}"}
                weekly = await asyncio.to_thread(client.get_playlist, seen[f"Discoveries {week}"].id)
                assert [s.id for s in weekly.entry or []] == [p.track_id for p in picks[:5]]
                assert [s.title for s in weekly.entry or []] == [f"Pick {i}" for i in range(1, 6)]
                assert seen["Discoveries"].owner == "ana" and seen["Discoveries"].song_count == 0
            finally:
                client.cleanup()

        # (g) replay: the fold of LIBRARY gives the same state, and the same playlists once installed
        engine = life.service.scanner.catalog.engine
        live = DiscoveryStore(engine)
        before_state, before_lists = live.dump(), await life.playlists("ana")
        settings = life.service.settings
        built = tmp_path / "built.db"
        result = await replay(provisioned, DiscoveryProjection(settings), built, ReplayOptions(batch=3))
        assert result.counts["added"] == 6 and result.counts["purged"] == 1
        assert await asyncio.to_thread(DiscoveryProjection(settings).dump, built) == before_state
        with engine.begin() as conn:  # lose the live state and the playlists, then install the rebuilt one
            conn.execute(delete(playlist_entry_t))
            conn.execute(delete(playlist_t).where(playlist_t.c.name.like("Discoveries%")))
        live.clear()
        live_db = DiscoveryProjection(settings).live_store()
        assert live_db is not None
        await asyncio.to_thread(DiscoveryProjection(settings).install, built, live_db)
        assert live.dump() == before_state
        after = await life.playlists("ana")
        assert {k: v for k, v in after.items() if k != "Road trip"} == {
            k: v for k, v in before_lists.items() if k != "Road trip"
        }


async def test_a_track_still_in_a_newer_weeks_playlist_does_not_expire_with_the_older_week(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    async with running_life(nats_endpoint, provisioned, tmp_path) as life:
        pick = await life.pick("ana", CandidateSource.CF)
        other = await life.pick("ana", CandidateSource.CF)
        next_week = datetime.now(UTC) + timedelta(days=7)
        # a run of the next week recommends the owned track again: it joins that week's playlist too
        await life.send(
            OwnedTrackRecommended(
                user="ana", occurred_at=next_week, recording_mbid=pick.recording_mbid,
                source=CandidateSource.RADIO, run_id=uuid.uuid4(), track_id=pick.track_id,
            )
        )  # fmt: skip
        added = await life.added(3)
        older, newer = discovery_week(datetime.now(UTC)), discovery_week(next_week)
        assert (added[-1].track_id, added[-1].week, added[-1].position) == (pick.track_id, newer, 0)
        lists = await life.playlists("ana")
        assert lists[f"Discoveries {older}"] == [pick.track_id, other.track_id]
        assert lists[f"Discoveries {newer}"] == [pick.track_id]

        life.clock.advance(days=21, minutes=1)  # the older week's time is up
        await life.tick()
        [expired] = await life.wait_events(DiscoveryExpired, 1)
        assert expired.track_id == other.track_id
        assert (life.music / pick.path).is_file()  # still in the newer week's playlist: stays
        lists = await life.playlists("ana")
        assert lists[f"Discoveries {older}"] == [pick.track_id] and lists["Discoveries"] == [pick.track_id]

        life.clock.advance(days=7)  # the newer week's time is up too
        await life.tick()
        expired = await life.wait_events(DiscoveryExpired, 2)
        assert expired[-1].track_id == pick.track_id and not (life.music / pick.path).exists()
        lists = await life.playlists("ana")
        assert lists[f"Discoveries {older}"] == [] and lists[f"Discoveries {newer}"] == []


async def test_two_users_a_keep_holds_for_both_a_hate_trashes_at_once_and_loved_keeps(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path, engine: Engine
) -> None:
    """On SQLite and on PostgreSQL (the catalog database of the `engine` fixture)."""
    url = engine.url.render_as_string(hide_password=False)
    async with running_life(nats_endpoint, provisioned, tmp_path, BRAINSTREAM_LIBRARY_DB_URL=url) as life:
        shared = await life.pick("ana", CandidateSource.CF)
        hated = await life.pick("ana", CandidateSource.RADIO)
        loved = await life.pick("bob", CandidateSource.PLAYLISTS)
        bobs = await life.pick("bob", CandidateSource.CF)
        await life.send(
            OwnedTrackRecommended(
                user="bob", recording_mbid=shared.recording_mbid, source=CandidateSource.CF, run_id=uuid.uuid4(),
                track_id=shared.track_id,
            )
        )  # fmt: skip
        await life.added(5)
        week = discovery_week(datetime.now(UTC))
        # (c) each user's discovery playlists are theirs: getPlaylists as each user shows only their own
        assert await life.playlists("ana") == {
            "Discoveries": [shared.track_id, hated.track_id],
            f"Discoveries {week}": [shared.track_id, hated.track_id],
        }
        assert await life.playlists("bob") == {
            "Discoveries": [loved.track_id, bobs.track_id, shared.track_id],
            f"Discoveries {week}": [loved.track_id, bobs.track_id, shared.track_id],
        }

        # bob plays the shared track: kept, for both of them
        await life.send(play("bob", shared.recording_mbid, datetime.now(UTC) + timedelta(minutes=1)))
        [kept] = await life.wait_events(DiscoveryKept, 1)
        assert (kept.track_id, kept.reason, kept.user, kept.detail) == (
            shared.track_id, KeepReason.PLAYED, "bob", "played 1 time by bob"
        )  # fmt: skip

        # (d) ana rates one 1 star: hated, in the trash at once, a tombstone with the artist for ingest-svc
        await asyncio.to_thread(life.rest, "ana", "setRating", id=hated.track_id, rating=1)
        await life.tick()
        [hate] = await life.wait_events(DiscoveryHated, 1)
        assert (hate.track_id, hate.user, hate.how, hate.artist) == (hated.track_id, "ana", "rating", "Artist 2")
        [expired] = await life.wait_events(DiscoveryExpired, 1)
        assert (expired.track_id, expired.reason, expired.users) == (hated.track_id, ExpiryReason.HATED, ["ana"])
        assert not (life.music / hated.path).exists() and (life.trash / hated.path).is_file()
        assert await life.tombstone("ana", hated.recording_mbid) == {
            "reason": "hated", "artist": "Artist 2", "track_id": hated.track_id
        }  # fmt: skip
        assert await life.tombstone("bob", hated.recording_mbid) is None

        # (e) +1 given on the ListenBrainz website, read back by ingest-svc: kept
        await life.send(
            FeedbackReceived(user="bob", recording_mbid=loved.recording_mbid, score=1, created=datetime.now(UTC))
        )
        kept = await life.wait_events(DiscoveryKept, 2)
        assert (kept[-1].track_id, kept[-1].reason) == (loved.track_id, KeepReason.LOVED)

        life.clock.advance(days=22)
        await life.tick()
        expired = await life.wait_events(DiscoveryExpired, 2)
        assert [e.track_id for e in expired] == [hated.track_id, bobs.track_id]
        assert (life.music / shared.path).is_file() and (life.music / loved.path).is_file()
        assert (await life.playlists("ana"))[f"Discoveries {week}"] == [shared.track_id]
        assert await life.playlists("bob") == {
            "Discoveries": [],
            f"Discoveries {week}": [loved.track_id, shared.track_id],
        }
        kept_ids = {t.track_id for t in DiscoveryStore(engine).tracks("kept")}  # the state is in that database
        assert kept_ids == {shared.track_id, loved.track_id}


async def test_disk_budget_expires_the_oldest_first_and_pauses_runs_when_nothing_can_go(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    async with running_life(nats_endpoint, provisioned, tmp_path) as life:
        first = [await life.pick("ana", CandidateSource.CF) for _ in range(3)]
        await life.added(3)
        used = sum(p.size_bytes for p in first)
        budget = used - 1  # one byte too many
        await life.set_pipeline(PipelineSettings(discovery=DiscoveryRules(disk_budget=str(budget))))
        await life.tick()
        # all three are this week's: none may go yet, so runs wait, with the reason in words
        [paused] = await life.wait_events(DiscoveryRunsPaused, 1)
        assert (paused.used_bytes, paused.budget_bytes) == (used, budget)
        assert "over the disk budget" in paused.reason and "keep or hate some" in paused.reason
        assert await life.paused() == paused.reason
        assert not await life.events(DiscoveryExpired)

        # a week later they are last week's: the oldest goes first, and that is enough
        life.clock.advance(days=7)
        await life.tick()
        [expired] = await life.wait_events(DiscoveryExpired, 1)
        assert (expired.track_id, expired.reason) == (first[0].track_id, ExpiryReason.DISK_BUDGET)
        assert "over the disk budget" in expired.detail
        [resumed] = await life.wait_events(DiscoveryRunsResumed, 1)
        assert resumed.used_bytes == used - first[0].size_bytes
        assert await life.paused() is None
        assert (life.music / first[1].path).is_file() and (life.music / first[2].path).is_file()


async def test_a_trash_on_another_filesystem_and_decisions_made_twice(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    if not other_device(tmp_path):
        pytest.skip("no tmpfs on another device than the test folder")
    trash = Path("/dev/shm") / f"bs-trash-{uuid.uuid4().hex}"
    try:
        async with running_life(nats_endpoint, provisioned, tmp_path, BRAINSTREAM_DISCOVERY_TRASH_DIR=trash) as life:
            pick = await life.pick("ana", CandidateSource.RADIO)
            await life.added(1)
            data = (life.music / pick.path).read_bytes()
            hate = HateDiscovery(user="ana", track_id=pick.track_id)
            await life.send(hate)
            await life.send(hate.model_copy(update={"event_id": uuid.uuid4()}))  # the button pressed twice
            [expired] = await life.wait_events(DiscoveryExpired, 1)
            assert expired.reason is ExpiryReason.HATED
            assert (trash / pick.path).read_bytes() == data  # copied across, then removed from the library
            assert not (life.music / pick.path).exists()
            restore = RestoreDiscovery(user="ana", track_id=pick.track_id)
            await life.send(restore)
            await life.wait_events(DiscoveryRestored, 1)
            assert (life.music / pick.path).read_bytes() == data and not (trash / pick.path).exists()
            await life.send(restore.model_copy(update={"event_id": uuid.uuid4()}))
            await life.tick()
            await life.tick()
            await life.settled("library_discovery_commands")  # the second restore was handled (and made nothing)
            assert len(await life.events(DiscoveryHated)) == 1
            assert len(await life.events(DiscoveryExpired)) == 1
            assert len(await life.events(DiscoveryRestored)) == 1
            assert [k.reason for k in await life.events(DiscoveryKept)] == [KeepReason.KEPT_IN_UI]
            assert len(await life.events(DiscoveryAdded)) == 1
    finally:
        shutil.rmtree(trash, ignore_errors=True)


async def test_a_discovery_removed_by_hand_leaves_its_playlists_with_a_tombstone_and_no_trash(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    async with running_life(nats_endpoint, provisioned, tmp_path) as life:
        pick = await life.pick("ana", CandidateSource.CF)
        other = await life.pick("ana", CandidateSource.CF)
        await life.added(2)
        await life.send(RemoveTrack(user="ana", track_id=pick.track_id))  # the Tracks page's Remove
        [expired] = await life.wait_events(DiscoveryExpired, 1)
        assert expired.reason is ExpiryReason.REMOVED and expired.users == ["ana"]
        [purged] = await life.wait_events(DiscoveryPurged, 1)
        assert purged.track_id == pick.track_id  # nothing waits in the trash: there is nothing to restore
        assert not (life.music / pick.path).exists() and not (life.trash / pick.path).exists()
        assert await life.tombstone("ana", pick.recording_mbid) is not None
        lists = await life.playlists("ana")
        assert lists and all(songs == [other.track_id] for songs in lists.values())
        await life.tick()  # and no later expiry of what is gone
        assert len(await life.events(DiscoveryExpired)) == 1


async def test_each_users_own_rules_and_one_play_told_twice_counts_once(
    nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    async with running_life(nats_endpoint, provisioned, tmp_path) as life:
        await life.set_user(UserAccounts(username="ana", discovery=DiscoveryRules(keep_for="2d", keep_plays=2)))
        anas = await life.pick("ana", CandidateSource.CF)
        played = await life.pick("ana", CandidateSource.RADIO)
        bobs = await life.pick("bob", CandidateSource.CF)
        added = await life.added(3)
        assert added[0].expires_at == added[0].occurred_at + timedelta(days=2)
        assert added[2].expires_at == added[2].occurred_at + timedelta(days=21)

        # one play, told by the built-in server and by ListenBrainz 4 s apart: one play of the two ana needs
        start = datetime.now(UTC) + timedelta(minutes=1)
        await life.send(play("ana", played.recording_mbid, start, ListenSource.SUBSONIC))
        await life.send(play("ana", played.recording_mbid, start + timedelta(seconds=4)))
        await life.settled("library_discovery_plays")
        assert not await life.events(DiscoveryKept)
        await life.send(play("ana", played.recording_mbid, start + timedelta(minutes=5)))  # a second play
        [kept] = await life.wait_events(DiscoveryKept, 1)
        assert (kept.track_id, kept.detail) == (played.track_id, "played 2 times by ana")

        life.clock.advance(days=2, minutes=1)  # ana's keep_for is up, bob's is not
        await life.tick()
        [expired] = await life.wait_events(DiscoveryExpired, 1)
        assert (expired.track_id, expired.detail) == (anas.track_id, "not kept within 2d")
        assert (life.music / bobs.path).is_file()
