"""The lifecycle's state on SQLite and PostgreSQL: the fold of its decisions, the playlists it gives, the plays."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from contracts.common import CandidateSource
from contracts.discovery import (
    DiscoveryAdded,
    DiscoveryExpired,
    DiscoveryHated,
    DiscoveryKept,
    DiscoveryPurged,
    DiscoveryRestored,
    DiscoveryRunsPaused,
    DiscoveryRunsResumed,
    ExpiryReason,
    KeepReason,
)
from library_svc.adapters.userdata import UserStore
from library_svc.discovery.store import DiscoveryStore, playlist_id, sync_playlists

T = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday of 2026-W49


def mbid(n: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"rec-{n}")


def added(user: str, n: int, week: str, position: int, at: datetime = T) -> DiscoveryAdded:
    return DiscoveryAdded(
        user=user, occurred_at=at, track_id=f"t{n}", recording_mbid=mbid(n), source=CandidateSource.CF, week=week,
        position=position, artist=f"Artist {n}", title=f"Song {n}", path=f"A/{n}.mp3", size_bytes=1000 * n,
    )  # fmt: skip


def test_the_fold_gives_playlists_tombstones_and_the_pause(engine: Engine) -> None:
    store = DiscoveryStore(engine)
    purge_at = T + timedelta(days=28)
    events = [
        added("ana", 1, "2026-W49", 0),
        added("ana", 2, "2026-W49", 1, T + timedelta(hours=1)),
        added("ana", 3, "2026-W49", 2, T + timedelta(hours=2)),
        added("bob", 1, "2026-W49", 0, T + timedelta(hours=3)),
        added("ana", 1, "2026-W50", 0, T + timedelta(days=7)),
        DiscoveryKept(user="bob", track_id="t1", recording_mbid=mbid(1), reason=KeepReason.PLAYED),
        DiscoveryHated(user="ana", track_id="t2", recording_mbid=mbid(2), artist="Artist 2", how="ui"),
        DiscoveryExpired(
            track_id="t2",
            recording_mbid=mbid(2),
            reason=ExpiryReason.HATED,
            users=["ana"],
            path="A/2.mp3",
            trash_path="A/2.mp3",
            purge_at=purge_at,
        ),
        DiscoveryExpired(
            track_id="t3",
            recording_mbid=mbid(3),
            reason=ExpiryReason.UNKEPT,
            users=["ana"],
            path="A/3.mp3",
            trash_path="A/3.mp3",
            purge_at=purge_at,
        ),
        DiscoveryRestored(track_id="t3", recording_mbid=mbid(3), path="A/3.mp3"),
        DiscoveryPurged(track_id="t2", recording_mbid=mbid(2), trash_path="A/2.mp3"),
        DiscoveryRunsPaused(used_bytes=10, budget_bytes=5, reason="over"),
    ]
    store.apply(events[:6])
    store.apply(events[6:])
    assert store.playlists("ana") == {
        "Discoveries": ["t3"],
        "Discoveries 2026-W49": ["t1", "t3"],
        "Discoveries 2026-W50": ["t1"],
    }
    assert store.playlists("bob") == {"Discoveries": [], "Discoveries 2026-W49": ["t1"]}
    assert store.tombstones() == {("ana", str(mbid(2))): {"reason": "hated", "artist": "Artist 2", "track_id": "t2"}}
    assert store.flag("paused") == "over"
    track = store.track("t2")
    assert track is not None and (track.status, track.reason, track.purge_at) == ("purged", "hated", purge_at)
    one = store.track("t1")
    assert one is not None and one.last_added == T + timedelta(days=7) and one.first_added == T
    store.apply([DiscoveryRunsResumed(used_bytes=1, budget_bytes=5)])
    assert store.flag("paused") is None and store.flag("pauses") == "1"
    assert store.next_position("ana", "2026-W49") == 3 and store.next_position("ana", "2026-W51") == 0

    # the built-in server's playlists follow, owned by each user; a second sync changes nothing
    users = UserStore(engine)
    assert sync_playlists(store, users, store.users(), T) == 5
    assert sync_playlists(store, users, store.users(), T) == 0
    weekly = users.playlist(playlist_id("ana", "Discoveries 2026-W49"))
    assert weekly is not None and (weekly.owner, weekly.track_ids) == ("ana", ["t1", "t3"])
    assert [p.name for p in users.playlists("bob")] == ["Discoveries", "Discoveries 2026-W49"]

    # a replay folding the same events into an emptied store gives the same rows
    before = store.dump()
    store.clear()
    store.apply(events)
    store.apply([DiscoveryRunsResumed(used_bytes=1, budget_bytes=5)])
    assert store.dump() == before


def test_a_play_is_joined_with_its_match_whichever_comes_first(engine: Engine) -> None:
    store = DiscoveryStore(engine)
    rec = str(mbid(7))
    assert store.record_match("l1", rec) == (None, rec)  # resolve-svc answered before the play arrived here
    assert store.record_listen("l1", "ana", "subsonic", T, 200_000, None) == ("ana", rec)
    assert store.record_listen("l2", "ana", "listenbrainz", T + timedelta(seconds=3), None, None) == ("ana", None)
    assert store.record_match("l2", rec) == ("ana", rec)
    own = str(mbid(8))  # the play's own MBID, overruled by the match
    store.record_listen("l3", "ana", "lastfm", T + timedelta(hours=1), None, own)
    assert store.record_match("l3", rec) == ("ana", rec)
    reports = store.reports("ana", rec, T)
    assert sorted((r.listen_id, r.source, r.at) for r in reports) == [
        ("l1", "subsonic", T),
        ("l2", "listenbrainz", T + timedelta(seconds=3)),
        ("l3", "lastfm", T + timedelta(hours=1)),
    ]
    assert [r.listen_id for r in store.reports("ana", rec, T + timedelta(minutes=1))] == ["l3"]
    assert store.reports("bob", rec, T) == []
