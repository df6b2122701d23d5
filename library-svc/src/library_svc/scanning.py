"""Use case: index the music folder in place, as Navidrome does. Unchanged files (size + mtime) are skipped."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from contracts.base import Message
from contracts.library import ScanCompleted, ScanFailed, ScanTarget

from .adapters.catalog import SqlCatalog
from .adapters.scanner import walk_audio
from .adapters.tags import UnreadableFile, read_track
from .domain.ids import track_id
from .domain.model import ScanReport, TrackInfo
from .ports import OwnedIndex, Publisher
from .service import follow_up_id

__all__ = ["Scanner"]

log = logging.getLogger(__name__)
_BATCH = 500


@dataclass
class Scanner:
    root: Path
    catalog: SqlCatalog
    publish: Publisher
    owned: OwnedIndex
    scanning: bool = False
    count: int = 0
    last: ScanReport | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def scan(self, *, full: bool = False, cause: Message | None = None) -> ScanReport | None:
        """Scan once (a request during a scan waits for it, then scans again); publish the outcome."""
        async with self._lock:
            self.scanning, self.count = True, 0
            try:
                report, owned, gone = await asyncio.to_thread(self._scan_sync, full)
            except OSError as exc:
                log.error("scan of %s failed: %s", self.root, exc)
                await self.publish(
                    self._event(ScanFailed, cause, target=ScanTarget.LIBRARY, reason="unreachable", detail=str(exc))
                )
                return None
            finally:
                self.scanning = False
            for info in owned:
                if info.recording_mbid:
                    await self.owned.put(info.recording_mbid, track_id(info.path), info.path)
            for mbid in gone:
                await self.owned.delete(mbid)
            self.last = report
            log.info("scan of %s: %s", self.root, report)
            await self.publish(
                self._event(
                    ScanCompleted,
                    cause,
                    target=ScanTarget.LIBRARY,
                    added=report.added,
                    updated=report.updated,
                    removed=report.removed,
                    unchanged=report.unchanged,
                    duration_ms=report.duration_ms,
                )
            )
            return report

    @staticmethod
    def _event(cls: type[Message], cause: Message | None, **fields: object) -> Message:
        if cause is None:
            return cls(**fields)
        # a redelivered StartScan publishes under the same id, and the server's dedup keeps the first outcome
        return cls.caused_by(cause, event_id=follow_up_id("scan", cause), **fields)

    def _scan_sync(self, full: bool) -> tuple[ScanReport, list[TrackInfo], list[str]]:
        started = time.perf_counter()
        if not self.root.is_dir():
            raise FileNotFoundError(f"the music folder {self.root} does not exist")
        report = ScanReport()
        known = self.catalog.file_index()
        seen: set[str] = set()
        todo: list[str] = []
        for rel, size, mtime_ns in walk_audio(self.root):
            seen.add(rel)
            if not full and known.get(rel) == (size, mtime_ns):
                report.unchanged += 1
            else:
                todo.append(rel)
        owned: list[TrackInfo] = []
        for i in range(0, len(todo), _BATCH):
            infos: list[TrackInfo] = []
            for rel in todo[i : i + _BATCH]:
                try:
                    infos.append(read_track(self.root, rel))
                except (UnreadableFile, OSError) as exc:
                    report.failed += 1
                    if len(report.errors) < 20:
                        report.errors.append(str(exc))
                    log.warning("cannot index %s: %s", rel, exc)
            self.catalog.upsert(infos)
            for info in infos:
                if info.path in known:
                    report.updated += 1
                else:
                    report.added += 1
            owned.extend(info for info in infos if info.recording_mbid)
            self.count = report.added + report.updated
        vanished = [p for p in known if p not in seen]
        removed = self.catalog.remove(vanished)
        report.removed = len(removed)
        report.duration_ms = round((time.perf_counter() - started) * 1000)
        self.count = len(seen) - report.failed
        return report, owned, [r.recording_mbid for r in removed if r.recording_mbid]
