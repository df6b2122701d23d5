"""What each tagging stage writes, as format-neutral key → values, from the resolved metadata.

Keys follow Picard's names (the mapping to ID3 frames, Vorbis comments and MP4 atoms lives in the tagger), so a
read-back can compare the same plan with whatever the file format stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contracts.common import TrackMetadata

__all__ = ["CoreTags", "Enrichment", "core_tags"]

CoreTags = dict[str, list[str]]


@dataclass(frozen=True)
class Enrichment:
    """Stage 2: the embedded cover and the genres."""

    genres: list[str] = field(default_factory=list)
    cover: bytes | None = None
    cover_mime: str = "image/jpeg"


def _pair(number: int | None, total: int | None) -> str | None:
    if number is None:
        return None
    return f"{number}/{total}" if total else str(number)


def core_tags(track: TrackMetadata, *, album_mbid: bool) -> CoreTags:
    """Stage 1. `album_mbid=False` leaves out the release id: a per-track album MBID splits albums in Navidrome."""
    tags: CoreTags = {
        "title": [track.title],
        "artist": [track.artist],
        "albumartist": [track.album_artist],
        "album": [track.album],
        "musicbrainz_trackid": [str(track.recording_mbid)],
    }
    if names := [c.name for c in track.artist_credit]:
        tags["artists"] = names
    if artist_ids := [str(c.mbid) for c in track.artist_credit if c.mbid]:
        tags["musicbrainz_artistid"] = artist_ids
    if track.album_artist_mbids:
        tags["musicbrainz_albumartistid"] = [str(m) for m in track.album_artist_mbids]
    if track.release_group_mbid:
        tags["musicbrainz_releasegroupid"] = [str(track.release_group_mbid)]
    if album_mbid and track.release_mbid:
        tags["musicbrainz_albumid"] = [str(track.release_mbid)]
    if (value := _pair(track.track_number, track.track_total)) is not None:
        tags["tracknumber"] = [value]
    if (value := _pair(track.disc_number, track.disc_total)) is not None:
        tags["discnumber"] = [value]
    date = track.original_date or (str(track.year) if track.year else None)
    if date:
        tags["date"] = [date]
    if track.original_date:
        tags["originaldate"] = [track.original_date]
    if track.isrcs:
        tags["isrc"] = list(track.isrcs)
    return tags
