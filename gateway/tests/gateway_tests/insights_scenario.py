"""A small, known listening history and three acquired tracks, published on the real streams, for the insights API
and browser tests. Berlin time; the week of 23 March 2026 holds the spring clock change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.base import Message
from contracts.common import CandidateSource
from contracts.ingest import CandidateDiscovered, ListenRecorded
from contracts.library import CatalogEntry, TrackImported

BERLIN = ZoneInfo("Europe/Berlin")
CF1, CF2, RADIO1 = (uuid.UUID(int=i) for i in (0xC1, 0xC2, 0xA1))
IMPORTED = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
RUN = uuid.UUID(int=77)
# the library's genres per recording, from the imports' catalog entries; CF2's import carries no entry (no genres)
GENRES = {CF1: ["Ambient", "Dream Pop"], RADIO1: ["Ambient"]}


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[misc]


def _play(n: int, at: datetime, artist: str, title: str, mbid: uuid.UUID | None = None, **kw: Any) -> ListenRecorded:
    return ListenRecorded(
        user="admin",
        source="subsonic",
        listened_at=at,
        artist=artist,
        title=title,
        album=kw.pop("album", "Fog"),
        duration_ms=200_000,
        recording_mbid=mbid,
        source_ids={"song_id": f"s-{n}", "client": kw.pop("client", "Feishin")},
        **kw,
    )


def _entry(genres: list[str]) -> CatalogEntry:
    return CatalogEntry(
        title="t", artist="a", album="Fog", album_artist="a", genres=genres, added_at=IMPORTED, mtime_ns=0
    )


def events() -> list[Message]:
    out: list[Message] = []
    for mbid, source in ((CF1, CandidateSource.CF), (CF2, CandidateSource.CF), (RADIO1, CandidateSource.RADIO)):
        found = CandidateDiscovered(
            user="admin", recording_mbid=mbid, source=source, run_id=RUN, position=0, occurred_at=IMPORTED
        )
        out.append(found)
        out.append(
            TrackImported.caused_by(
                found,
                recording_mbid=mbid,
                track_id=f"t-{mbid.int}",
                path=f"x/{mbid.int}.flac",
                size_bytes=1,
                occurred_at=IMPORTED,
                entry=_entry(GENRES[mbid]) if mbid in GENRES else None,
            )
        )
    plays = [
        # the week of 23 March (Berlin): Cold Harbour 5, Tidewell 2, Night Ferry 1
        (_at(2026, 3, 23, 0, 0, 0), "Cold Harbour", "Northern Light", CF1),  # within 7 days of the import
        (_at(2026, 3, 22, 23, 59, 59), "Cold Harbour", "Northern Light", CF1),  # the week before
        (_at(2026, 3, 17, 20, 0), "Cold Harbour", "Northern Light", CF1),
        (_at(2026, 3, 18, 20, 0), "Cold Harbour", "Northern Light", CF1),
        (_at(2026, 3, 24, 21, 0), "Cold Harbour", "Harbour Lights", None),
        (_at(2026, 3, 25, 21, 0), "Cold Harbour", "Harbour Lights", None),
        (_at(2026, 3, 28, 3, 30), "Cold Harbour", "Harbour Lights", None),  # Saturday 03:30 CET
        (_at(2026, 3, 29, 3, 30), "Cold Harbour", "Northern Light", CF1),  # Sunday 03:30 CEST
        (_at(2026, 3, 26, 8, 0), "Tidewell", "Radio Song", RADIO1),  # 10 days after the import
        (_at(2026, 3, 27, 8, 0), "Tidewell", "Second", None),
        (_at(2026, 3, 29, 23, 59, 59), "Night Ferry", "Last Second", None),
        (_at(2026, 3, 30, 0, 0, 0), "Night Ferry", "Next Week", None),
    ]
    out += [_play(i, at, artist, title, mbid) for i, (at, artist, title, mbid) in enumerate(plays)]
    return out


WEEK = {"range": "custom", "from": "2026-03-23", "to": "2026-03-29"}
TOTAL_PLAYS = 12
WEEK_PLAYS = 8
WEEK_TOP = [("Cold Harbour", 5), ("Tidewell", 2), ("Night Ferry", 1)]
WEEK_DAILY = [1, 1, 1, 1, 1, 1, 2]  # Mon..Sun
PREVIOUS_PLAYS = 3  # 17th, 18th, and the second before Monday
# the week's plays of CF1 (Monday 00:00:00, Sunday 03:30; not the second before Monday) and of RADIO1 (Thursday)
WEEK_GENRES = [("Ambient", 3, 600_000), ("Dream Pop", 2, 400_000)]
TWO_WEEKS = {"range": "custom", "from": "2026-03-16", "to": "2026-03-29"}  # holds the imports
