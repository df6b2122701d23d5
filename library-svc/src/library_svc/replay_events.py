"""LIBRARY's messages as the catalog's changes: what `brainstream replay library` decodes.

A module of its own so that the fold process, which mostly writes what the reading process decoded, does not load
the event contracts unless it decodes too (they were a fifth of its start).
"""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from contracts.library import TrackImported, TrackRemoved
from infra.ops.projections import Decoded

from .adapters.catalog import Removal
from .adapters.catalog_rows import PreparedTrack, prepare_values

if TYPE_CHECKING:
    from infra.ops.scan import Stored

__all__ = ["decode"]


def decode(stored: Stored) -> Decoded | None:
    """A LIBRARY message as the change it makes: an import's row ready to write, a removal, or an import without
    `entry` as it is (its file is read when it is folded). Events are validated in full all the same."""
    if stored.subject == TrackImported.subject:
        imported = TrackImported.model_validate_json(stored.data)
        e = imported.entry
        change: PreparedTrack | TrackImported = imported
        if e is not None:
            change = prepare_values(
                imported.path, imported.size_bytes, e.mtime_ns, e.title, e.artist, e.album, e.album_artist,
                e.added_at.astimezone(UTC),  # the zone the live import used (the parsed one is slow to ask)
                e.track_number, e.disc_number, e.year, e.genres, str(imported.recording_mbid), e.release_mbid,
                e.album_artist_mbid, e.duration_s, e.bitrate_kbps, e.sample_rate, e.channels,
            )  # fmt: skip
        return Decoded(stored.stream, stored.seq, imported.occurred_at, change)
    if stored.subject == TrackRemoved.subject:
        removed = TrackRemoved.model_validate_json(stored.data)
        return Decoded(stored.stream, stored.seq, removed.occurred_at, Removal(removed.path))
    return None
