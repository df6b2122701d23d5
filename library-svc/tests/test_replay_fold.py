"""The catalog's fold process: batches that queue up for it are written together, and the catalog is the same."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nats.js import JetStreamContext

from contracts.base import Message
from contracts.library import CatalogEntry, TrackImported, TrackRemoved
from infra.ops.replay import ReplayOptions, replay
from infra.ops.scan import scan_batches
from library_svc.replay import CatalogProjection, decode
from library_svc.settings import Settings

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def events(n: int) -> list[Message]:
    """Imports with their entry, 8 tracks an album, and every 9th event a removal of an earlier import."""
    out: list[Message] = []
    kept: list[TrackImported] = []
    for i in range(n):
        at = T0 + timedelta(seconds=i)
        if i % 9 == 8:
            gone = kept.pop(len(kept) // 2)
            out.append(TrackRemoved(occurred_at=at, track_id=gone.track_id, recording_mbid=gone.recording_mbid,
                                    path=gone.path))  # fmt: skip
            continue
        artist, album = f"Artist {i // 400}", f"Album {i // 8}"
        entry = CatalogEntry(
            title=f"Song {i}", artist=artist, album=album, album_artist=artist, track_number=i % 8 + 1,
            genres=["Dub" if i % 3 else "Ambient"], added_at=at, mtime_ns=1_700_000_000_000_000_000 + i,
            duration_s=200.4, bitrate_kbps=320, sample_rate=44100, channels=2,
        )  # fmt: skip
        path = f"{artist}/{album}/{i % 8 + 1:02} Song {i}.mp3"
        event = TrackImported(occurred_at=at, recording_mbid=uuid.uuid4(), track_id=uuid.uuid4().hex, path=path,
                              size_bytes=5_000_000 + i, entry=entry)  # fmt: skip
        kept.append(event)
        out.append(event)
    return out


async def test_batches_written_together_give_the_catalog_written_one_batch_at_a_time(
    provisioned: JetStreamContext, tmp_path: Path
) -> None:
    js = provisioned
    stored = events(3000)
    for chunk in range(0, 3000, 300):
        await asyncio.gather(*(js.publish(e.subject, e.to_json()) for e in stored[chunk : chunk + 300]))
    projection = CatalogProjection(Settings(BRAINSTREAM_DATA_DIR=tmp_path / "data"))

    # through the fold process, in batches of 40: they queue up while it starts, and it writes several at once
    result = await replay(js, projection, tmp_path / "queued.db", ReplayOptions(batch=40))
    assert (result.read, result.applied) == (3000, 3000)
    assert result.counts == {"imported": 2667, "removed": 333}

    # in this process, one batch of 40 a transaction
    fold = projection.open(tmp_path / "one-by-one.db", fresh=True)
    try:
        async for arrived in scan_batches(js, "LIBRARY"):
            decoded = [d for d in map(decode, arrived) if d is not None]
            for i in range(0, len(decoded), 40):
                fold.apply(decoded[i : i + 40])
    finally:
        fold.close()

    queued, one_by_one = projection.dump(tmp_path / "queued.db"), projection.dump(tmp_path / "one-by-one.db")
    assert len(queued["track"]) == 2667 - 333
    assert queued == one_by_one
