"""Use cases of library-svc: import a tagged file, remove a track. The one place mapping contracts ↔ domain."""

from __future__ import annotations

import asyncio
import errno
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from contracts.acquire import TrackTagged
from contracts.base import Message
from contracts.gateway import RemoveTrack
from contracts.library import CatalogEntry, ImportFailed, ImportFailureReason, TrackImported, TrackRemoved

from .adapters.tags import read_track
from .domain.model import TrackInfo
from .domain.paths import PathValues, disambiguate, render_path
from .ports import Catalog, LibraryFiles, OwnedIndex, OwnedTrack, PathEscapes, Publisher, ScanTrigger

__all__ = ["IMPORT_PROJECTION", "Library", "NoTrigger", "catalog_entry", "follow_up_id"]

log = logging.getLogger(__name__)

IMPORT_PROJECTION = "library_tagged"
_EVENT_NS = uuid.UUID("0b8f6f44-4a3e-5a0e-8d52-2f4f1f0c7e21")
_EXT = {"mp3": "mp3", "flac": "flac", "ogg": "ogg", "vorbis": "ogg", "opus": "opus", "m4a": "m4a", "aac": "m4a"}


def follow_up_id(kind: str, cause: Message) -> uuid.UUID:
    """Deterministic event ids: a redelivered message publishes the same id, which the server's dedup drops."""
    return uuid.uuid5(_EVENT_NS, f"{kind}:{cause.event_id}")


def catalog_entry(info: TrackInfo) -> CatalogEntry:
    """The catalog row's values as TrackImported carries them (the inverse is in replay.py)."""
    return CatalogEntry(
        title=info.title,
        artist=info.artist,
        album=info.album,
        album_artist=info.album_artist,
        track_number=info.track_no,
        disc_number=info.disc_no,
        year=info.year,
        genres=list(info.genres),
        release_mbid=info.release_mbid,
        album_artist_mbid=info.album_artist_mbid,
        added_at=info.created,
        mtime_ns=info.mtime_ns,
        duration_s=info.audio.duration_s,
        bitrate_kbps=info.audio.bitrate_kbps,
        sample_rate=info.audio.sample_rate,
        channels=info.audio.channels,
    )


class NoTrigger:
    def poke(self) -> None:
        return None


@dataclass
class Library:
    root: Path
    catalog: Catalog
    publish: Publisher
    owned: OwnedIndex
    template: Callable[[], str]
    trigger: ScanTrigger
    files: LibraryFiles
    force_copy: bool = False

    # import -------------------------------------------------------------------------------------------------------

    async def import_tagged(self, event: TrackTagged, sequence: int) -> Message:
        """Move the staging file in (unless it is already in place), upsert the catalog, publish the outcome."""
        outcome = await asyncio.to_thread(self._import_sync, event, sequence)
        if isinstance(outcome, TrackImported):
            await self.owned.put(str(event.track.recording_mbid), outcome.track_id, outcome.path)
            self.trigger.poke()
        await self.publish(outcome)
        return outcome

    def _failed(self, event: TrackTagged, reason: ImportFailureReason, detail: str) -> ImportFailed:
        log.warning("import of %s failed: %s %s", event.track.recording_mbid, reason.value, detail)
        return ImportFailed.caused_by(
            event,
            event_id=follow_up_id("import_failed", event),
            recording_mbid=event.track.recording_mbid,
            reason=reason,
            detail=detail,
        )

    def _target(self, event: TrackTagged) -> str:
        meta = event.track
        mbid = str(meta.recording_mbid)
        known = self.catalog.by_recording(mbid)
        if known is not None:
            return known.path
        ext = _EXT.get(event.format.lower(), event.format.lower())
        values = PathValues(
            albumartist=meta.album_artist,
            artist=meta.artist,
            album=meta.album,
            title=meta.title,
            ext=ext,
            year=meta.year,
            track=meta.track_number,
            disc=meta.disc_number,
        )
        rel = render_path(self.template(), values)
        owner = self.catalog.by_path(rel)
        target = self.root / rel
        taken_by_other = owner is not None and owner.recording_mbid != mbid
        if not taken_by_other and owner is None and target.exists():
            taken_by_other = self.files.sha256(target) != event.sha256  # an unrelated file already sits there
        return disambiguate(rel, mbid[:8]) if taken_by_other else rel

    def _import_sync(self, event: TrackTagged, sequence: int) -> Message:
        staging = Path(event.staging_path)
        try:
            rel = self._target(event)
            target = self.files.inside(self.root, rel)
        except (PathEscapes, ValueError) as exc:
            return self._failed(event, ImportFailureReason.PERMISSION_DENIED, str(exc))
        try:
            if staging.exists():
                if target.exists() and self.files.sha256(target) == event.sha256:
                    staging.unlink()  # a crash after the copy, before the staging file was removed
                else:
                    if self.files.sha256(staging) != event.sha256:
                        return self._failed(event, ImportFailureReason.CHECKSUM_MISMATCH, str(staging))
                    how = self.files.place(staging, target, force_copy=self.force_copy)
                    log.info("imported %s (%s)", rel, how)
            elif not target.exists():
                return self._failed(event, ImportFailureReason.STAGING_MISSING, str(staging))
            # else: redelivery or replay, the file is already in place: nothing is moved or copied again
            info = self._info(event, rel, target)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                return self._failed(event, ImportFailureReason.DISK_FULL, str(exc))
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return self._failed(event, ImportFailureReason.PERMISSION_DENIED, str(exc))
            raise
        position = max(sequence, self.catalog.position(IMPORT_PROJECTION))
        [track_id] = self.catalog.upsert([info], projection=(IMPORT_PROJECTION, position))
        return TrackImported.caused_by(
            event,
            event_id=follow_up_id("imported", event),
            recording_mbid=event.track.recording_mbid,
            track_id=track_id,
            path=rel,
            size_bytes=info.size,
            entry=catalog_entry(info),
            origin=event.origin,
        )

    def _info(self, event: TrackTagged, rel: str, target: Path) -> TrackInfo:
        meta = event.track
        st = target.stat()
        return TrackInfo(
            path=rel,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            title=meta.title,
            artist=meta.artist,
            album=meta.album,
            album_artist=meta.album_artist,
            created=event.occurred_at.replace(microsecond=0),
            track_no=meta.track_number,
            disc_no=meta.disc_number,
            year=meta.year,
            genres=tuple(meta.genres),
            recording_mbid=str(meta.recording_mbid),
            release_mbid=str(meta.release_mbid) if meta.release_mbid else None,
            album_artist_mbid=str(meta.album_artist_mbids[0]) if meta.album_artist_mbids else None,
            audio=self.files.audio_props(target),
        )

    # removal ------------------------------------------------------------------------------------------------------

    async def remove_track(self, command: RemoveTrack) -> TrackRemoved | None:
        known = await asyncio.to_thread(self.catalog.by_id, command.track_id)
        if known is None:
            log.info("removal of %s: no such track (already removed)", command.track_id)
            return None
        path = self.files.inside(self.root, known.path)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        return await self.retire(known, command, follow_up_id("removed", command))

    async def retire(self, known: OwnedTrack, cause: Message | None, event_id: uuid.UUID) -> TrackRemoved:
        """Take a track whose file is gone (deleted, or moved to the trash) out of the catalog and library_owned."""
        await asyncio.to_thread(self.catalog.remove, [known.path])
        if known.recording_mbid:
            await self.owned.delete(known.recording_mbid)
        fields = {
            "event_id": event_id,
            "track_id": known.track_id,
            "recording_mbid": uuid.UUID(known.recording_mbid) if _is_uuid(known.recording_mbid) else None,
            "path": known.path,
        }
        removed = TrackRemoved.caused_by(cause, **fields) if cause is not None else TrackRemoved(**fields)
        await self.publish(removed)
        self.trigger.poke()
        return removed

    async def reinstate(
        self, rel: str, mbid: str, created: datetime, cause: Message, event_id: uuid.UUID
    ) -> TrackImported:
        """Index a file put back in place (a restored discovery) as an import: catalog, library_owned, TrackImported."""
        self.files.inside(self.root, rel)  # raises if the path escapes the root
        info = await asyncio.to_thread(read_track, self.root, rel)
        info = replace(info, recording_mbid=mbid, created=created.replace(microsecond=0))
        [track_id] = await asyncio.to_thread(self.catalog.upsert, [info])
        await self.owned.put(mbid, track_id, rel)
        imported = TrackImported.caused_by(
            cause,
            event_id=event_id,
            recording_mbid=uuid.UUID(mbid),
            track_id=track_id,
            path=rel,
            size_bytes=info.size,
            entry=catalog_entry(info),
        )
        await self.publish(imported)
        self.trigger.poke()
        return imported


def _is_uuid(text: str | None) -> bool:
    try:
        uuid.UUID(text or "")
    except ValueError:
        return False
    return True
