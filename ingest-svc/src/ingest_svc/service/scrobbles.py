"""Plays reported by Subsonic clients (through the gateway, or recorded by the built-in library API) as listens."""

from __future__ import annotations

from contracts.gateway import ScrobbleSubmitted
from contracts.library import ScrobbleRecorded

from ..domain.listens import Listen

__all__ = ["listen_from_scrobble"]


def listen_from_scrobble(event: ScrobbleSubmitted | ScrobbleRecorded) -> Listen:
    """Both kinds describe a play of one library song at one time: that pair is the play's identity, so the same
    play reported by both paths, or redelivered, is one listen."""
    song_id = event.song_id if isinstance(event, ScrobbleSubmitted) else event.track_id
    ids = {"song_id": song_id}
    if event.client:
        ids["client"] = event.client
    return Listen(
        source="subsonic",
        listened_at=event.played_at,
        artist=event.artist or "",
        title=event.title or "",
        album=event.album,
        duration_ms=event.duration_ms,
        recording_mbid=event.recording_mbid,
        play_identity=f"{song_id}:{int(event.played_at.timestamp())}",
        source_ids=ids,
        raw=event.model_dump(mode="json"),
    )
