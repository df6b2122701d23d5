"""Tagged staging files and their TrackTagged events, as acquire-svc would hand them over."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.acquire import TrackTagged
from contracts.common import AlbumSource, TrackMetadata
from tests.support.audio import EXTENSIONS, make_audio

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def tagged(
    staging: Path,
    n: int,
    *,
    fmt: str = "mp3",
    title: str | None = None,
    album: str = "Night Drive",
    artist: str = "Cold Harbour",
    mbid: uuid.UUID | None = None,
    freq: float | None = None,
) -> TrackTagged:
    """Make a real audio file in `staging` and the event that announces it."""
    mbid = mbid or uuid.uuid5(uuid.NAMESPACE_URL, f"recording-{n}-{title}-{album}")
    path = staging / f"{mbid.hex}{EXTENSIONS[fmt]}"
    make_audio(path, fmt, 1.0, freq=freq or 300.0 + 7 * n, tags={"title": title or f"Song {n}"})
    data = path.read_bytes()
    meta = TrackMetadata(
        recording_mbid=mbid,
        title=title or f"Song {n}",
        artist=artist,
        album_artist=artist,
        album=album,
        album_source=AlbumSource.MUSICBRAINZ,
        track_number=n,
        disc_number=1,
        year=2019,
        genres=["Synthwave"],
    )
    return TrackTagged(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"tagged-{mbid}"),
        occurred_at=T0 + timedelta(minutes=n),
        track=meta,
        staging_path=str(path),
        format=fmt,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
