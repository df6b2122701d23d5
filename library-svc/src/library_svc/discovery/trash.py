"""The decisions that move a discovery's file: into the trash (expiry, the disk budget, a removal by hand), out of
it (purge, restore).

`TrashDecisions` is a part of `Discoveries` (service.py), kept apart because these are the decisions that touch the
disk; they run under its lock, publish through its `_emit` and bring the playlists in step through its `_sync`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from contracts.base import Message
from contracts.discovery import (
    DiscoveryExpired,
    DiscoveryPurged,
    DiscoveryRestored,
    DiscoveryRunsPaused,
    DiscoveryRunsResumed,
    ExpiryReason,
    KeepReason,
    discovery_week,
)

from ..service import Library
from .fold import OPEN, TRASHED
from .rules import Rules
from .store import DiscoveryStore, Entry, Track
from .words import _size, _tombstone, decision_id

if TYPE_CHECKING:
    from .service import Gate

__all__ = ["TrashDecisions"]

log = logging.getLogger("library_svc.discovery.service")  # the decisions log under one name, as before


class TrashDecisions:
    """Expire, purge, restore, a removal by hand and the disk budget (a mixin of `Discoveries`)."""

    store: DiscoveryStore
    library: Library
    gate: Gate
    rules: Callable[[str | None], Rules]
    trash: Path
    clock: Callable[[], datetime]
    _lock: asyncio.Lock

    if TYPE_CHECKING:  # given by Discoveries

        async def _emit(self, event: Message) -> None: ...

        async def _sync(self, users: Iterable[str]) -> None: ...

        def _users_of(self, track: Track) -> list[str]: ...

        def _due(self, entries: list[Entry]) -> tuple[datetime | None, str]: ...

        async def _keep(
            self, track: Track, user: str, reason: KeepReason, detail: str, cause: Message | None
        ) -> None: ...

    async def _expire(
        self, track: Track, reason: ExpiryReason, detail: str, users: list[str], cause: Message | None
    ) -> None:
        now = self.clock()
        trash_for = max((self.rules(u).trash_for for u in users), default=self.rules(None).trash_for)
        await asyncio.to_thread(self._to_trash, track)
        known = await asyncio.to_thread(self.library.catalog.by_id, track.track_id)
        if known is not None:
            await self.library.retire(known, cause, decision_id("removed", track.track_id, track.epoch))
        fields = {
            "event_id": decision_id("expired", track.track_id, track.epoch),
            "track_id": track.track_id,
            "recording_mbid": uuid.UUID(track.recording_mbid),
            "reason": reason,
            "detail": detail,
            "users": users,
            "path": track.path,
            "trash_path": track.path,
            "size_bytes": track.size,
            "purge_at": now + trash_for,
        }
        expired = DiscoveryExpired.caused_by(cause, **fields) if cause else DiscoveryExpired(occurred_at=now, **fields)
        await self._emit(expired)
        for user in users:
            await self.gate.bury(user, track.recording_mbid, _tombstone(reason.value, track))
        log.info("discovery %s expired (%s): %s", track.path, reason.value, detail)
        await self._sync(self._users_of(track))

    def _to_trash(self, track: Track) -> None:
        """Move the file into the trash: a rename on one filesystem, else copy then remove (shutil.move)."""
        source = self.library.files.inside(self.library.root, track.path)
        target = self.trash / track.path
        if not source.exists():
            return  # moved already (a decision made again), or deleted by hand
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        _prune_empty(source.parent, self.library.root)

    async def _purge(self, track: Track) -> None:
        target = self.trash / track.trash_path
        await asyncio.to_thread(target.unlink, missing_ok=True)
        await asyncio.to_thread(_prune_empty, target.parent, self.trash)
        purged = DiscoveryPurged(
            event_id=decision_id("purged", track.track_id, track.epoch),
            occurred_at=self.clock(),
            track_id=track.track_id,
            recording_mbid=uuid.UUID(track.recording_mbid),
            trash_path=track.trash_path,
        )
        await self._emit(purged)
        log.info("discovery %s purged from the trash", track.path)

    async def removed(self, track_id: str, cause: Message) -> None:
        """An open discovery removed from the library by hand (`RemoveTrack`): its file is deleted already, so it
        leaves the playlists with tombstones for those whose discovery it was (someone chose not to keep it), and
        nothing waits in the trash to be restored."""
        async with self._lock:
            track = self.store.track(track_id)
            if track is None or track.status != OPEN:
                return
            users = sorted({e.user for e in self.store.open_entries().get(track_id, [])})
            await self._expire(track, ExpiryReason.REMOVED, "removed from the library by hand", users, cause)
            gone = self.store.track(track_id)
            if gone is not None and gone.status == TRASHED:
                await self._purge(gone)

    async def _restore(self, track: Track, user: str, cause: Message) -> None:
        if track.status != TRASHED:
            log.info("restore of %s: it is %s, not in the trash", track.track_id, track.status)
            return
        target = self.library.files.inside(self.library.root, track.path)
        source = self.trash / track.trash_path
        there = await asyncio.to_thread(self.library.catalog.by_path, track.path)
        if there is not None and there.recording_mbid != track.recording_mbid:
            log.error("restore of %s: another recording took its place in the library; left in the trash", track.path)
            return
        if source.exists() and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(shutil.move, source, target)
        if not target.exists():
            log.error("restore of %s: the file is neither in the trash nor in the library", track.path)
            return
        await self.library.reinstate(
            track.path,
            track.recording_mbid,
            track.first_added,
            cause,
            decision_id("reimported", track.track_id, track.epoch),
        )
        buried = [u for (u, mbid) in self.store.tombstones() if mbid == track.recording_mbid]
        restored = DiscoveryRestored.caused_by(
            cause,
            event_id=decision_id("restored", track.track_id, track.epoch),
            track_id=track.track_id,
            recording_mbid=uuid.UUID(track.recording_mbid),
            path=track.path,
        )
        await self._emit(restored)
        for buried_user in buried:
            await self.gate.lift(buried_user, track.recording_mbid)
        log.info("discovery %s restored by %s", track.path, user)
        back = self.store.track(track.track_id)
        if back is not None:
            await self._keep(back, user, KeepReason.KEPT_IN_UI, "restored from the trash", cause)

    async def _budget(self) -> None:
        budget = self.rules(None).disk_budget
        paused = self.store.flag("paused")
        pauses = self.store.flag("pauses") or "0"
        used = self.store.open_bytes()
        if budget is not None and used > budget:
            this_week = discovery_week(self.clock().astimezone(UTC))
            for track in self.store.tracks(OPEN):  # oldest first
                if used <= budget:
                    break
                entries = self.store.entries(track.track_id)
                if any(e.week >= this_week for e in entries):
                    continue  # in this week's playlists: its user has not had the chance to hear it yet
                if self._due(entries)[0] is None:
                    continue  # a user of it turned expiry off
                detail = f"the unkept discoveries used {_size(used)}, over the disk budget of {_size(budget)}"
                users = sorted({e.user for e in entries})
                await self._expire(track, ExpiryReason.DISK_BUDGET, detail, users, None)
                used = self.store.open_bytes()
        over = budget is not None and used > budget
        if over and paused is None:
            assert budget is not None
            reason = (
                f"the unkept discoveries use {_size(used)}, over the disk budget of {_size(budget)}, and none can "
                "expire yet (all are in this week's playlists): keep or hate some, or raise the budget"
            )
            event = DiscoveryRunsPaused(
                event_id=decision_id("paused", pauses),
                occurred_at=self.clock(),
                used_bytes=used,
                budget_bytes=budget,
                reason=reason,
            )
            await self._emit(event)
            await self.gate.pause(reason)
            log.warning("discovery runs paused: %s", reason)
        elif not over and paused is not None:
            resumed = DiscoveryRunsResumed(
                event_id=decision_id("resumed", pauses),
                occurred_at=self.clock(),
                used_bytes=used,
                budget_bytes=budget or 0,
            )
            await self._emit(resumed)
            await self.gate.resume()
            log.info("discovery runs resumed: %s used of %s", _size(used), _size(budget or 0))


def _prune_empty(folder: Path, root: Path) -> None:
    """Remove folders left empty by a move, up to (not including) the root."""
    with contextlib.suppress(ValueError):
        folder.relative_to(root)
        while folder != root and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
