"""Two weeks of discoveries of `admin` (and one of `bob`), as library-svc and ingest-svc would publish them: kept,
expired to the trash, purged, hated, still waiting; a play of one of them; runs paused by the disk budget."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from contracts import discovery as d
from contracts.base import Message
from contracts.common import CandidateSource, ListenSource
from contracts.ingest import ListenRecorded

__all__ = ["Scenario", "scenario"]


@dataclass
class Scenario:
    now: datetime
    this_week: str
    last_week: str
    events: list[Message] = field(default_factory=list)
    mbids: dict[str, uuid.UUID] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)


PICKS = [
    # track id, user, weeks ago, position, artist, title, album, source
    ("tr-harbour", "admin", 1, 0, "Cold Harbour", "Tidewater", "Fog Lines", CandidateSource.CF),
    ("tr-ferry", "admin", 1, 1, "Night Ferry", "Lanterns", "Crossings", CandidateSource.RADIO),
    ("tr-tidewell", "admin", 1, 2, "Tidewell", "Salt Roads", "Estuary", CandidateSource.PLAYLISTS),
    ("tr-arcade", "admin", 1, 3, "Glass Arcade", "Undertow", "Mirror Hall", CandidateSource.CF),
    ("tr-orchard", "admin", 0, 0, "Pale Orchard", "Copper Sky", "Low Sun", CandidateSource.CF),
    ("tr-marrow", "admin", 0, 1, "Marrow Lights", "Northbound", "Pylons", CandidateSource.PLAYLISTS),
    ("tr-vesper", "admin", 0, 2, "Vesper Lane", "Static Bloom", None, CandidateSource.RADIO),
    ("tr-arcade", "admin", 0, 3, "Glass Arcade", "Undertow", "Mirror Hall", CandidateSource.CF),
    ("tr-bob", "bob", 0, 0, "Quiet Engines", "Halflight", "Rooms", CandidateSource.CF),
]


def scenario(now: datetime | None = None) -> Scenario:
    now = now or datetime.now(UTC).replace(microsecond=0)
    sc = Scenario(now, d.discovery_week(now), d.discovery_week(now - timedelta(days=7)))
    keep_for, trash_for = timedelta(days=21), timedelta(days=7)
    for track_id, user, ago, position, artist, title, album, source in PICKS:
        mbid = sc.mbids.setdefault(track_id, uuid.uuid5(uuid.NAMESPACE_URL, track_id))
        sc.titles[track_id] = title
        added = now - timedelta(days=7 * ago, hours=6 - position)
        sc.events.append(
            d.DiscoveryAdded(
                user=user,
                occurred_at=added,
                track_id=track_id,
                recording_mbid=mbid,
                source=source,
                week=d.discovery_week(added),
                position=position,
                artist=artist,
                title=title,
                album=album,
                path=f"{artist}/{album or 'Singles'}/{title}.flac",
                size_bytes=30_000_000,
                expires_at=added + keep_for,
            )
        )
    m = sc.mbids
    ago = now - timedelta(days=3)
    sc.events += [
        d.DiscoveryKept(
            user="admin",
            occurred_at=ago,
            track_id="tr-harbour",
            recording_mbid=m["tr-harbour"],
            reason=d.KeepReason.PLAYED,
            detail="played 1 time",
        ),
        d.FeedbackSent(user="admin", occurred_at=ago, recording_mbid=m["tr-harbour"], score=1, cause="kept"),
        d.DiscoveryExpired(
            user="admin",
            occurred_at=now - timedelta(days=2),
            track_id="tr-ferry",
            recording_mbid=m["tr-ferry"],
            reason=d.ExpiryReason.DISK_BUDGET,
            detail="over the disk budget: oldest unkept first",
            users=["admin"],
            path="Night Ferry/Crossings/Lanterns.flac",
            trash_path="Night Ferry/Crossings/Lanterns.flac",
            size_bytes=30_000_000,
            purge_at=now - timedelta(days=2) + trash_for,
        ),
        d.DiscoveryExpired(
            user="admin",
            occurred_at=now - timedelta(days=9),
            track_id="tr-tidewell",
            recording_mbid=m["tr-tidewell"],
            reason=d.ExpiryReason.UNKEPT,
            detail="not kept within 21d",
            users=["admin"],
            path="Tidewell/Estuary/Salt Roads.flac",
            trash_path="Tidewell/Estuary/Salt Roads.flac",
            size_bytes=30_000_000,
            purge_at=now - timedelta(days=2),
        ),
        d.DiscoveryPurged(
            user="admin",
            occurred_at=now - timedelta(days=2),
            track_id="tr-tidewell",
            recording_mbid=m["tr-tidewell"],
            trash_path="Tidewell/Estuary/Salt Roads.flac",
        ),
        d.DiscoveryHated(
            user="admin",
            occurred_at=now - timedelta(hours=2),
            track_id="tr-vesper",
            recording_mbid=m["tr-vesper"],
            artist="Vesper Lane",
            how="ui",
        ),
        d.DiscoveryExpired(
            user="admin",
            occurred_at=now - timedelta(hours=2),
            track_id="tr-vesper",
            recording_mbid=m["tr-vesper"],
            reason=d.ExpiryReason.HATED,
            detail="hated on the Discoveries page",
            users=["admin"],
            path="Vesper Lane/Static Bloom.flac",
            trash_path="Vesper Lane/Static Bloom.flac",
            size_bytes=30_000_000,
            purge_at=now - timedelta(hours=2) + trash_for,
        ),
        d.FeedbackSent(
            user="admin", occurred_at=now - timedelta(hours=1), recording_mbid=m["tr-vesper"], score=-1, cause="hated"
        ),
        d.DiscoveryRunsPaused(
            occurred_at=now - timedelta(hours=1),
            used_bytes=21_000_000_000,
            budget_bytes=20_000_000_000,
            reason="the unkept discoveries use 21.0 GB of a 20 GB budget and none can expire yet",
        ),
        ListenRecorded(
            user="admin",
            source=ListenSource.LISTENBRAINZ,
            listened_at=now - timedelta(hours=3),
            artist="Pale Orchard",
            title="Copper Sky",
            duration_ms=200_000,
            recording_mbid=m["tr-orchard"],
        ),
    ]
    # published as they happen: each stream in the order of its events' times, as the services publish them
    sc.events.sort(key=lambda e: e.occurred_at)
    return sc
