"""Which reports of a user's plays of one recording are distinct plays (the keep rule counts plays).

ingest-svc already records one `ListenRecorded` per play and source. Two sources can still report the same play
(a Subsonic client scrobbles to the built-in server and the user's ListenBrainz reports it too). The rule is the
history's (gateway/src/gateway/history/merge.py), kept to what counting needs:

1. A report's start is its time, except Spotify's, which is the end: its duration (when known) is taken off.
2. Reports are swept by (start, source, id). A report is the same play as the nearest earlier counted play when its
   source has not reported that play already and it starts within `min(60 s, duration / 2)` of it (60 s when no
   duration is known); otherwise it is a new play.

Worked examples: Subsonic 12:00:00 and ListenBrainz 12:00:04 of a 3:20 track → one play. ListenBrainz 12:00:00 and
ListenBrainz 12:03:25 → two plays (one source never reports one play twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Report", "count_plays"]

TOLERANCE = timedelta(seconds=60)


@dataclass(frozen=True)
class Report:
    listen_id: str
    source: str
    at: datetime
    duration_ms: int | None = None

    @property
    def start(self) -> datetime:
        if self.source == "spotify" and self.duration_ms:
            return self.at - timedelta(milliseconds=self.duration_ms)
        return self.at


def count_plays(reports: Iterable[Report]) -> int:
    plays: list[tuple[datetime, set[str], int | None]] = []  # anchor start, sources, shortest duration
    for report in sorted(reports, key=lambda r: (r.start, r.source, r.listen_id)):
        joined = False
        for anchor, sources, duration in reversed(plays):
            window = TOLERANCE
            shortest = min(d for d in (duration, report.duration_ms) if d) if duration or report.duration_ms else None
            if shortest:
                window = min(TOLERANCE, timedelta(milliseconds=shortest / 2))
            if report.start - anchor > TOLERANCE:
                break
            if report.source not in sources and abs(report.start - anchor) <= window:
                sources.add(report.source)
                joined = True
                break
        if not joined:
            plays.append((report.start, {report.source}, report.duration_ms))
    return len(plays)
