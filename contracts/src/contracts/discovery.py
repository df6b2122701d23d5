"""The discovery lifecycle: what a recommendation becomes once it is in the library.

A recommended track that enters the library is a *discovery* of the user it was recommended to. It sits in that
user's weekly playlist ("Discoveries 2026-W49") and in the rolling "Discoveries" playlist until the user keeps it
(plays, stars, rates, loves or files it) or it expires unkept after `discovery_keep_for`. Expiring moves the file to
the trash and leaves a tombstone, so the pipeline never acquires that recording for that user again unless asked by
hand; the trash is emptied after `discovery_trash_for`, and until then a restore brings the file back.

library-svc decides (it owns the files, the catalog and the built-in server's playlists) and publishes every
decision on LIBRARY with its reason. ingest-svc sends feedback to ListenBrainz, reads the feedback given on the
website back, and keeps tombstoned recordings and excluded artists out of new runs. The gateway shows it all and
turns the buttons of the Discoveries page into commands. Replaying LIBRARY, INGEST and GATEWAY rebuilds the same
state and the same playlists.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field, field_validator

from .base import Command, Event, Model
from .common import CandidateSource

__all__ = [
    "DISCOVERY_BUCKET",
    "ArtistExcluded",
    "CandidateExcluded",
    "DiscoveryAdded",
    "DiscoveryExpired",
    "DiscoveryHated",
    "DiscoveryKept",
    "DiscoveryPurged",
    "DiscoveryRestored",
    "DiscoveryRules",
    "DiscoveryRunsPaused",
    "DiscoveryRunsResumed",
    "ExpiryReason",
    "FeedbackReceived",
    "FeedbackSent",
    "HateDiscovery",
    "KeepDiscovery",
    "KeepReason",
    "OwnedTrackRecommended",
    "RestoreDiscovery",
    "discovery_week",
    "parse_duration",
    "parse_size",
    "pause_key",
    "tombstone_key",
]

DISCOVERY_BUCKET = "discovery_gate"
"""KV bucket (owner library-svc) that ingest-svc reads before a run: `tombstone.<user>.<mbid>` for every recording a
user must not be offered again, and `paused` while the disk budget stops runs (value: the reason, in words)."""


def tombstone_key(user: str, recording_mbid: UUID | str) -> str:
    return f"tombstone.{user}.{recording_mbid}"


def pause_key() -> str:
    return "paused"


def discovery_week(moment: datetime) -> str:
    """The ISO week a discovery belongs to, as its playlist names it: `2026-W49`."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_BYTES = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `12h`, `21d`, `2w` → a timedelta; anything else raises ValueError saying what is expected."""
    found = _DURATION.match(text)
    if found is None or int(found[1]) == 0:
        raise ValueError(f"{text!r} is not a duration: write a positive number and a unit, like 21d, 12h or 90s")
    return timedelta(seconds=int(found[1]) * _SECONDS[found[2].lower()])


def parse_size(text: str) -> int:
    """`20G`, `500M`, `1.5T`, `800k`, `123` (bytes) → bytes, powers of 1024; anything else raises ValueError."""
    found = _SIZE.match(text)
    if found is None:
        raise ValueError(f"{text!r} is not a size: write a number and an optional unit, like 20G, 500M or 800k")
    return int(float(found[1]) * _BYTES[found[2].lower()])


class DiscoveryRules(Model):
    """The keep and expiry rules. Pipeline-wide in `PipelineSettings.discovery`, per user in
    `UserAccounts.discovery`; a field left `None` falls back (user → pipeline → environment → default)."""

    enabled: bool | None = Field(default=None, description="Discoveries expire at all (default true).")
    keep_plays: int | None = Field(default=None, ge=1, le=100, description="Full plays that keep a track (1).")
    keep_rating: int | None = Field(default=None, ge=2, le=5, description="Lowest rating that keeps a track (3).")
    keep_for: str | None = Field(
        default=None, description="How long a discovery waits to be kept: `21d`, `12h`, `90s` (21d)."
    )
    trash_for: str | None = Field(default=None, description="How long the trash keeps a file: `7d` (7d).")
    disk_budget: str | None = Field(
        default=None, description="Most bytes the unkept discoveries may use: `20G`, `500M`; empty for none."
    )

    @field_validator("keep_for", "trash_for")
    @classmethod
    def _is_duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("disk_budget")
    @classmethod
    def _is_size(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            parse_size(value)
        return value or None


class KeepReason(StrEnum):
    PLAYED = "played"
    STARRED = "starred"
    RATED = "rated"
    LOVED = "loved"
    """+1 on ListenBrainz, given on its website and read back."""
    IN_PLAYLIST = "in_playlist"
    KEPT_IN_UI = "kept_in_ui"


class ExpiryReason(StrEnum):
    UNKEPT = "unkept"
    """Nobody kept it within `keep_for`."""
    DISK_BUDGET = "disk_budget"
    """The unkept discoveries went over the disk budget; the oldest go first."""
    HATED = "hated"
    """Rated 1 star, hated in the web UI or on ListenBrainz: removed at once."""
    REMOVED = "removed"
    """Removed from the library by hand (`RemoveTrack`): its file is gone, so nothing waits in the trash;
    `DiscoveryPurged` follows at once."""


class _Discovery(Event):
    stream: ClassVar[str] = "LIBRARY"


class DiscoveryAdded(_Discovery):
    """A recommended track entered the library for `user`: it is in that week's playlist and the rolling one."""

    subject: ClassVar[str] = "library.discovery.added"

    track_id: str
    recording_mbid: UUID
    source: CandidateSource
    week: str = Field(description="ISO week of the playlist it joins, as `2026-W49`.")
    position: int = Field(ge=0, description="Order of arrival within the user's week.")
    artist: str
    title: str
    album: str | None = None
    path: str = Field(description="Relative to the library root.")
    size_bytes: int = Field(ge=0)
    expires_at: datetime | None = Field(default=None, description="When it expires unless kept, as decided now.")


class DiscoveryKept(_Discovery):
    """The user kept a discovery: it is an ordinary library track from now on, for every user."""

    subject: ClassVar[str] = "library.discovery.kept"

    track_id: str
    recording_mbid: UUID
    reason: KeepReason
    detail: str = Field(default="", description="In words: 'played 1 time', 'rated 4', 'in playlist Road trip'.")


class DiscoveryExpired(_Discovery):
    """An unkept (or hated) discovery left the library: its file is in the trash, it is out of the catalog and of
    every discovery playlist, and `users` hold a tombstone for its recording."""

    subject: ClassVar[str] = "library.discovery.expired"

    track_id: str
    recording_mbid: UUID
    reason: ExpiryReason
    detail: str = ""
    users: list[str] = Field(default_factory=list, description="Users whose tombstone this writes.")
    path: str = Field(description="Where it was, relative to the library root.")
    trash_path: str = Field(description="Where it is now, relative to the trash folder.")
    size_bytes: int = Field(default=0, ge=0)
    purge_at: datetime = Field(description="When the trash is emptied of it.")


class DiscoveryHated(_Discovery):
    """A user rejected a discovery (1 star, hate in the UI, -1 on ListenBrainz). `DiscoveryExpired` with reason
    `hated` follows when no other user keeps the track; the tombstone and feedback `-1` hold for this user."""

    subject: ClassVar[str] = "library.discovery.hated"

    track_id: str
    recording_mbid: UUID
    artist: str = ""
    how: str = Field(description="'rating', 'ui' or 'listenbrainz'.")


class DiscoveryRestored(_Discovery):
    """A trashed discovery is back in the library, catalog and playlists; its tombstones are lifted and it counts
    as kept."""

    subject: ClassVar[str] = "library.discovery.restored"

    track_id: str
    recording_mbid: UUID
    path: str


class DiscoveryPurged(_Discovery):
    """The trash was emptied of a file: it can no longer be restored (its tombstones stay)."""

    subject: ClassVar[str] = "library.discovery.purged"

    track_id: str
    recording_mbid: UUID
    trash_path: str


class DiscoveryRunsPaused(_Discovery):
    """The unkept discoveries exceed the disk budget and nothing more can expire: runs wait."""

    subject: ClassVar[str] = "library.discovery.runs_paused"

    used_bytes: int = Field(ge=0)
    budget_bytes: int = Field(ge=0)
    reason: str


class DiscoveryRunsResumed(_Discovery):
    subject: ClassVar[str] = "library.discovery.runs_resumed"

    used_bytes: int = Field(ge=0)
    budget_bytes: int = Field(ge=0)


class _IngestDiscovery(Event):
    stream: ClassVar[str] = "INGEST"


class OwnedTrackRecommended(_IngestDiscovery):
    """A run recommended a recording the library already holds: it joins this week's discovery playlist of `user`
    (and stays while it is there) without being acquired again."""

    subject: ClassVar[str] = "ingest.candidate.recommended_again"

    recording_mbid: UUID
    source: CandidateSource
    run_id: UUID
    track_id: str


class CandidateExcluded(_IngestDiscovery):
    """A run left a candidate out because of the user's tombstone or artist exclusion."""

    subject: ClassVar[str] = "ingest.candidate.excluded"

    recording_mbid: UUID
    source: CandidateSource
    run_id: UUID
    artist: str | None = None
    reason: str = Field(description="'tombstone' or 'artist_excluded'.")


class FeedbackSent(_IngestDiscovery):
    """Feedback for a recording reached the user's ListenBrainz (`/1/feedback/recording-feedback`)."""

    subject: ClassVar[str] = "ingest.feedback.sent"

    recording_mbid: UUID
    score: int = Field(ge=-1, le=1)
    cause: str = Field(description="The decision it reports: 'kept', 'hated' or 'restored'.")


class FeedbackReceived(_IngestDiscovery):
    """Feedback the user gave on the ListenBrainz website, read back on a run; library-svc applies it."""

    subject: ClassVar[str] = "ingest.feedback.received"

    recording_mbid: UUID
    score: int = Field(ge=-1, le=1)
    created: datetime


class _GatewayDiscovery(Command):
    stream: ClassVar[str] = "GATEWAY"


class KeepDiscovery(_GatewayDiscovery):
    """Keep a discovery: the Keep button, or (with Navidrome serving /rest) a star, rating or playlist the gateway saw
    the user make there."""

    subject: ClassVar[str] = "gateway.discovery.keep_requested"

    track_id: str
    reason: KeepReason = KeepReason.KEPT_IN_UI
    detail: str = ""


class HateDiscovery(_GatewayDiscovery):
    """Hate a discovery: the Hate button, or (with Navidrome serving /rest) a 1-star rating made there."""

    subject: ClassVar[str] = "gateway.discovery.hate_requested"

    track_id: str
    how: str = Field(default="ui", description="'ui' or 'rating'.")


class RestoreDiscovery(_GatewayDiscovery):
    subject: ClassVar[str] = "gateway.discovery.restore_requested"

    track_id: str


class ArtistExcluded(Event):
    """The user's artist exclusion list changed (edited on the Discoveries page). The list itself lives in the
    user's live settings (`UserAccounts.excluded_artists`), which ingest-svc reads on each run; this is its record."""

    stream: ClassVar[str] = "GATEWAY"
    subject: ClassVar[str] = "gateway.discovery.artists_excluded"

    artists: list[str] = Field(description="The whole list as it is now (display names; compared folded).")
