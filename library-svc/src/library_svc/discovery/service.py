"""The lifecycle's decisions: what each play, mark, feedback, command and tick makes of a discovery.

Every decision is published on LIBRARY with its reason, then applied to the state (`DiscoveryStore.apply`, the same
fold a replay runs), then the discovery playlists and the `discovery_gate` KV follow. Event ids are uuid5 of the
decision (kind, track, the addition that opened this life of the track), so a decision made again after a crash or
a redelivery publishes the same id, which the server's dedup drops.

The rules, as decided here:
- A track imported with origin CF, radio or playlists for a user is that user's discovery. It joins the user's
  playlist of the ISO week (UTC) of the import, at the next position. A manual request, an import without origin and
  a file found by a scan never are. `OwnedTrackRecommended` of a track that is already a discovery (open or kept)
  adds it to the week of that recommendation too; of any other library track it does nothing.
- Kept (for every user, for good): `keep_plays` distinct plays by a user whose discovery it is, counted from when it
  first joined their playlists (`plays.py` tells two reports of one play apart); a star, or a rating of at least
  `keep_rating`, in the built-in server by anyone; being in any playlist of anyone's own (not a discovery playlist);
  +1 on ListenBrainz; the Keep button; a restore.
- Hated: a 1-star rating, the Hate button, -1 on ListenBrainz. The user gets a tombstone; when nobody kept the track
  it expires at once (reason `hated`). Keeps seen in the same look win over a 1-star rating.
- Expired (`unkept`): `keep_for` after it last joined a weekly playlist of any user, with each user's own
  `keep_for`; a user whose rules say `enabled: false` keeps it from expiring. Every user whose discovery it was gets
  a tombstone. The file goes to the trash, the track leaves the catalog, `library_owned` and the playlists.
- Purged: `trash_for` after expiry (the longest of its users'), the file is deleted from the trash.
- Disk budget (the pipeline's `disk_budget`): while the unkept discoveries use more, the oldest expire first
  (`disk_budget`), except those of the current week's playlists and those a user turned expiry off for. Still
  over: `paused` is put into `discovery_gate` and `DiscoveryRunsPaused` published; back under: cleared and
  `DiscoveryRunsResumed`.

The decisions that move files (expiry, the disk budget, purge, restore, a removal by hand) are in `trash.py`; how
decisions are named and read (event ids, details, tombstones) in `words.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from contracts.base import Message, utcnow
from contracts.common import CandidateSource
from contracts.discovery import (
    DiscoveryAdded,
    DiscoveryHated,
    DiscoveryKept,
    ExpiryReason,
    FeedbackReceived,
    HateDiscovery,
    KeepDiscovery,
    KeepReason,
    OwnedTrackRecommended,
    RestoreDiscovery,
    discovery_week,
)
from contracts.ingest import ListenRecorded
from contracts.library import TrackImported
from contracts.resolve import ListenMatched

from ..adapters.userdata import UserStore
from ..service import Library
from .fold import KEPT, OPEN, TRASHED
from .plays import count_plays
from .rules import Rules
from .store import DiscoveryStore, Entry, Track, sync_playlists
from .trash import TrashDecisions
from .words import _duration, _plural, _tombstone, _words, decision_id

__all__ = ["DISCOVERY_SOURCES", "Discoveries", "Gate", "decision_id"]

log = logging.getLogger(__name__)

DISCOVERY_SOURCES = frozenset({CandidateSource.CF, CandidateSource.RADIO, CandidateSource.PLAYLISTS})


class Gate(Protocol):
    """The `discovery_gate` KV bucket (adapters/gate.py)."""

    async def bury(self, user: str, mbid: str, value: dict[str, str]) -> None: ...

    async def lift(self, user: str, mbid: str) -> None: ...

    async def pause(self, reason: str) -> None: ...

    async def resume(self) -> None: ...

    async def sync(self, tombstones: dict[tuple[str, str], dict[str, str]], paused: str | None) -> tuple[int, int]: ...


@dataclass
class Discoveries(TrashDecisions):
    store: DiscoveryStore
    users: UserStore
    library: Library
    gate: Gate
    rules: Callable[[str | None], Rules]
    """The rules in force for a user (None: the pipeline's, for the disk budget)."""
    trash: Path
    clock: Callable[[], datetime] = utcnow
    """Injected by tests: expiry, purge and the disk budget are decided by this clock."""
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    # inputs -------------------------------------------------------------------------------------------------------

    async def imported(self, event: TrackImported) -> None:
        if event.origin not in DISCOVERY_SOURCES or not event.user:
            return  # manual, no origin (older events, scans) or nobody's: an ordinary library track
        entry = event.entry
        async with self._lock:
            await self._add(
                event.user,
                event.track_id,
                str(event.recording_mbid),
                event.origin,
                event,
                artist=entry.artist if entry else "",
                title=entry.title if entry else "",
                album=entry.album if entry else None,
                path=event.path,
                size=event.size_bytes,
            )

    async def recommended_again(self, event: OwnedTrackRecommended) -> None:
        async with self._lock:
            track = self.store.track(event.track_id) or self.store.by_recording(str(event.recording_mbid))
            if track is None or track.status not in (OPEN, KEPT) or not event.user:
                log.info("%s recommended again: not a discovery in the library; no playlist change", event.track_id)
                return
            await self._add(
                event.user,
                track.track_id,
                track.recording_mbid,
                event.source,
                event,
                artist=track.artist,
                title=track.title,
                album=track.album,
                path=track.path,
                size=track.size,
            )

    async def listened(self, event: ListenRecorded) -> None:
        mbid = str(event.recording_mbid) if event.recording_mbid else None
        async with self._lock:
            user, recording = self.store.record_listen(
                str(event.event_id),
                event.user,
                event.source.value,
                event.listened_at.astimezone(UTC),
                event.duration_ms,
                mbid,
            )
            if user and recording:
                await self._check_plays(user, recording, str(event.event_id), event)

    async def matched(self, event: ListenMatched) -> None:
        async with self._lock:
            user, recording = self.store.record_match(str(event.listen_id), str(event.recording_mbid))
            if user and recording:
                await self._check_plays(user, recording, str(event.listen_id), event)

    async def feedback(self, event: FeedbackReceived) -> None:
        async with self._lock:
            track = self.store.by_recording(str(event.recording_mbid))
            if track is None or not event.user:
                return
            if event.score > 0:
                await self._keep(track, event.user, KeepReason.LOVED, "loved on ListenBrainz", event)
            elif event.score < 0:
                await self._hate(track, event.user, "listenbrainz", event)

    async def command(self, command: KeepDiscovery | HateDiscovery | RestoreDiscovery) -> None:
        async with self._lock:
            user = command.user or ""
            if not user:
                log.warning("%s on %s names no user; ignored", command.subject, command.track_id)
                return
            track = self.store.track(command.track_id)
            if track is None:
                log.info("%s on %s: not a discovery; nothing to do", command.subject, command.track_id)
                return
            if isinstance(command, KeepDiscovery):
                await self._keep(track, user, command.reason, command.detail or _words(command.reason), command)
            elif isinstance(command, HateDiscovery):
                await self._hate(track, user, command.how, command)
            else:
                await self._restore(track, user, command)

    def poke(self, _user: str | None = None) -> None:
        """A star, rating or playlist changed in the built-in server: look now rather than at the next tick."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # the tick -----------------------------------------------------------------------------------------------------

    async def run(self, every_s: float) -> None:
        """Tick until cancelled (on the writer only: library-svc serves once it holds the writer lease)."""
        self._loop = asyncio.get_running_loop()
        await self.start()
        while True:
            try:
                await self.tick()
            except OSError as exc:  # a full or read-only trash, NATS away: tried again on the next tick
                log.error("discovery tick failed, trying again in %.0fs: %s", every_s, exc)
            except Exception:  # a bug must not stop imports and the API with it: seen in the log, tried again
                log.exception("discovery tick failed, trying again in %.0fs", every_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), every_s)
            self._wake.clear()

    async def start(self) -> None:
        """Bring the playlists and the KV in step with the state (after a replay, or a lost bucket)."""
        async with self._lock:
            changed = sync_playlists(self.store, self.users, self.store.users(), self.clock())
            written, deleted = await self.gate.sync(self.store.tombstones(), self.store.flag("paused"))
            log.info(
                "discoveries: %d playlists rewritten, %d tombstones, %d stale keys removed", changed, written, deleted
            )

    async def tick(self) -> None:
        async with self._lock:
            now = self.clock()
            await self._marks()
            entries = self.store.open_entries()
            for track in self.store.tracks(OPEN):
                mine = entries.get(track.track_id, [])
                due, keep_for = self._due(mine)
                if due is not None and now >= due:
                    users = sorted({e.user for e in mine})
                    await self._expire(track, ExpiryReason.UNKEPT, f"not kept within {keep_for}", users, None)
            for track in self.store.tracks(TRASHED):
                if track.purge_at is not None and now >= track.purge_at:
                    await self._purge(track)
            await self._budget()

    def _due(self, entries: list[Entry]) -> tuple[datetime | None, str]:
        """When an open discovery expires: `keep_for` after it last joined a weekly playlist, per user."""
        due: datetime | None = None
        words = ""
        for entry in entries:
            rules = self.rules(entry.user)
            if not rules.enabled:
                return None, ""
            mine = entry.added_at + rules.keep_for
            if due is None or mine > due:
                due, words = mine, _duration(rules.keep_for.total_seconds())
        return due, words

    # decisions ----------------------------------------------------------------------------------------------------

    async def _emit(self, event: Message) -> None:
        await self.library.publish(event)
        await asyncio.to_thread(self.store.apply, [event])

    async def _sync(self, users: Iterable[str]) -> None:
        await asyncio.to_thread(sync_playlists, self.store, self.users, sorted(set(users)), self.clock())

    def _users_of(self, track: Track) -> list[str]:
        return sorted({e.user for e in self.store.entries(track.track_id)})

    async def _add(
        self,
        user: str,
        track_id: str,
        mbid: str,
        source: CandidateSource,
        cause: Message,
        *,
        artist: str,
        title: str,
        album: str | None,
        path: str,
        size: int,
    ) -> None:
        at = cause.occurred_at.astimezone(UTC)
        week = discovery_week(at)
        if any(e.week == week for e in self.store.entries(track_id, user)):
            return  # a redelivery, or recommended twice in one week
        known = self.store.track(track_id)
        rules = self.rules(user)
        open_ = known is None or known.status != KEPT
        added = DiscoveryAdded.caused_by(
            cause,
            event_id=decision_id("added", str(cause.event_id), user, track_id),
            occurred_at=at,  # when it joined: the import's or the recommendation's time, as a replay folds it
            user=user,
            track_id=track_id,
            recording_mbid=uuid.UUID(mbid),
            source=source,
            week=week,
            position=self.store.next_position(user, week),
            artist=artist,
            title=title,
            album=album,
            path=path,
            size_bytes=size,
            expires_at=at + rules.keep_for if rules.enabled and open_ else None,
        )
        await self._emit(added)
        log.info("discovery of %s: %s (%s) in week %s", user, path, source.value, week)
        await self._sync([user])
        await self._check_plays(user, mbid, None, cause)
        await self._budget()

    async def _check_plays(self, user: str, mbid: str, listen_id: str | None, cause: Message) -> None:
        """Keep the user's open discovery of this recording once it has been played enough. A play of anything
        else is forgotten at once: only plays of open discoveries are kept for counting."""
        track = self.store.by_recording(mbid)
        mine = self.store.entries(track.track_id, user) if track is not None and track.status == OPEN else []
        if track is None or not mine:
            if listen_id is not None:
                self.store.forget_listen(listen_id)
            return
        since = min(e.added_at for e in mine)
        plays = count_plays(self.store.reports(user, mbid, since))
        if plays >= self.rules(user).keep_plays:
            await self._keep(track, user, KeepReason.PLAYED, f"played {_plural(plays, 'time')} by {user}", cause)

    async def _keep(self, track: Track, user: str, reason: KeepReason, detail: str, cause: Message | None) -> None:
        if track.status != OPEN:
            return  # kept already, or gone (a restore keeps it)
        fields = {
            "event_id": decision_id("kept", track.track_id, track.epoch),
            "track_id": track.track_id,
            "recording_mbid": uuid.UUID(track.recording_mbid),
            "reason": reason,
            "detail": detail,
            "user": user or None,
        }
        kept = DiscoveryKept.caused_by(cause, **fields) if cause else DiscoveryKept(occurred_at=self.clock(), **fields)
        await self._emit(kept)
        log.info("discovery %s kept: %s", track.path, detail)
        await self._sync(self._users_of(track))
        await self._budget()

    async def _hate(self, track: Track, user: str, how: str, cause: Message | None) -> None:
        if track.status not in (OPEN, KEPT) or (user, track.recording_mbid) in self.store.tombstones():
            return
        fields = {
            "event_id": decision_id("hated", track.track_id, track.epoch, user),
            "track_id": track.track_id,
            "recording_mbid": uuid.UUID(track.recording_mbid),
            "artist": track.artist,
            "how": how,
            "user": user,
        }
        hated = (
            DiscoveryHated.caused_by(cause, **fields) if cause else DiscoveryHated(occurred_at=self.clock(), **fields)
        )
        await self._emit(hated)
        await self.gate.bury(user, track.recording_mbid, _tombstone("hated", track))
        if track.status == OPEN:  # nobody kept it: out at once
            await self._expire(track, ExpiryReason.HATED, f"hated by {user} ({how})", [user], cause)
        else:
            await self._sync([user])

    async def _marks(self) -> None:
        """Stars, ratings and own playlists in the built-in server: keeps first, so a keep by anyone wins over a
        1-star rating seen in the same look."""
        open_ids = [t.track_id for t in self.store.tracks(OPEN)]
        marks = self.store.marks(open_ids, self.store.playlist_ids())
        hates = []
        for mark in marks:
            track = self.store.track(mark.track_id)
            if track is None or track.status != OPEN:
                continue
            if mark.kind == "star":
                await self._keep(track, mark.user, KeepReason.STARRED, f"starred by {mark.user}", None)
            elif mark.kind == "playlist":
                await self._keep(track, mark.user, KeepReason.IN_PLAYLIST, f"in playlist {mark.value}", None)
            elif int(mark.value) >= self.rules(mark.user).keep_rating:
                await self._keep(track, mark.user, KeepReason.RATED, f"rated {mark.value} by {mark.user}", None)
            elif int(mark.value) == 1:
                hates.append(mark)
        for mark in hates:
            track = self.store.track(mark.track_id)
            if track is not None:
                await self._hate(track, mark.user, "rating", None)
