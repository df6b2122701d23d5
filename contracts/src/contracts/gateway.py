"""Commands and events published by the gateway on the GATEWAY stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field

from .base import Command, Event
from .common import TrackQuery

__all__ = [
    "MatchListen",
    "NowPlayingReported",
    "RemoveTrack",
    "RequestTrack",
    "RetryTrack",
    "ScrobbleSubmitted",
    "SettingsChanged",
    "StartRun",
    "StartScan",
]


class _GatewayCommand(Command):
    stream: ClassVar[str] = "GATEWAY"


class _GatewayEvent(Event):
    stream: ClassVar[str] = "GATEWAY"


class RequestTrack(_GatewayCommand):
    """A person asked for a track by recording MBID, by artist and title, or by URL."""

    subject: ClassVar[str] = "gateway.track.requested"

    request_id: UUID
    query: TrackQuery
    url: str | None = None

    @property
    def url_only(self) -> bool:
        """Only a URL to go on: acquire-svc reads the file's tags (or the page) first, then resolve-svc resolves."""
        q = self.query
        return self.url is not None and not (q.recording_mbid or q.isrc or q.artist or q.title)


class RetryTrack(_GatewayCommand):
    """Retry a failed track, optionally pinned to a chosen recording MBID (a rematch)."""

    subject: ClassVar[str] = "gateway.track.retry_requested"

    recording_mbid: UUID | None = None
    query: TrackQuery
    rematch_mbid: UUID | None = None


class RemoveTrack(_GatewayCommand):
    subject: ClassVar[str] = "gateway.track.removal_requested"

    track_id: str


class StartRun(_GatewayCommand):
    """Run the recommendation pipeline for a user now, besides the schedule."""

    subject: ClassVar[str] = "gateway.run.requested"


class StartScan(_GatewayCommand):
    subject: ClassVar[str] = "gateway.scan.requested"

    full: bool = Field(default=False, description="Re-read every file, not only changed ones.")


class ScrobbleSubmitted(_GatewayEvent):
    """A Subsonic client reported a play (`scrobble` with submission=true) while Navidrome is the upstream.

    With the built-in library API, library-svc records the play and publishes `ScrobbleRecorded` instead.
    """

    subject: ClassVar[str] = "gateway.scrobble.submitted"

    song_id: str
    played_at: datetime
    client: str | None = None
    recording_mbid: UUID | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    duration_ms: int | None = Field(default=None, ge=0)


class NowPlayingReported(_GatewayEvent):
    """A Subsonic client said what it is playing (`scrobble` with submission=false). Not a listen: ingest-svc tells
    the user's ListenBrainz (`playing_now`) and Last.fm (`track.updateNowPlaying`), and nothing is stored."""

    subject: ClassVar[str] = "gateway.nowplaying.reported"

    song_id: str
    client: str | None = None
    recording_mbid: UUID | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    duration_ms: int | None = Field(default=None, ge=0)


class SettingsChanged(_GatewayEvent):
    subject: ClassVar[str] = "gateway.settings.changed"

    keys: list[str]
    values: dict[str, Any] = Field(default_factory=dict, description="New values; secrets are never included.")


class MatchListen(_GatewayCommand):
    """Match a recorded play again: the history store's background retry of a play still unmatched."""

    subject: ClassVar[str] = "gateway.listen.match_requested"

    listen_id: UUID = Field(description="The `event_id` of the `ListenRecorded` to match.")
    source: str
    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = Field(default=None, ge=0)
    recording_mbid: UUID | None = None
    isrc: str | None = None
    attempt: int = Field(ge=1, description="This try's number; the first match was attempt 1.")
