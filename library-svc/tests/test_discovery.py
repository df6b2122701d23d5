"""The discovery lifecycle end to end: real nats-server, real SQLite, real audio files moved on disk, the built-in
server's real HTTP API, and an injected clock (weeks pass without waiting)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from libopensonic import Connection
from library_discovery import running_life
from library_fakes import RecordingPublisher
from library_server import ApiServer
from nats.js import JetStreamContext
from sqlalchemy import delete

from contracts.common import CandidateSource, ListenSource, MatchMethod
from contracts.discovery import (
    DiscoveryExpired,
    DiscoveryKept,
    DiscoveryPurged,
    DiscoveryRestored,
    ExpiryReason,
    KeepReason,
    RestoreDiscovery,
    discovery_week,
)
from contracts.ingest import ListenRecorded
from contracts.library import TrackImported, TrackRemoved
from contracts.resolve import ListenMatched
from infra.ops.replay import ReplayOptions, replay
from library_svc.adapters.schema import playlist_entry_t, playlist_t
from library_svc.discovery.projection import DiscoveryProjection
from library_svc.discovery.store import DiscoveryStore
from tests.support.nats import NatsEndpoint


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
        await asyncio.to_thread(life.rest, "ana", "star", id=picks[2].track_id)
        await asyncio.to_thread(life.rest, "ana", "createPlaylist", name="Road trip", songId=picks[3].track_id)
        await life.tick()
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
