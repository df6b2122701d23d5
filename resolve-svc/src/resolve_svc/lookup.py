"""Use case: candidates for a person choosing what to request (`lookup.recordings`, see contracts.lookup).

The same MusicBrainz search, cache, rate-limit slot and ranking as a resolution, but every candidate is answered,
best first, with the release it is best known from: the person picks, nothing is decided for them. When MusicBrainz
cannot be asked now (its budget is used up, it is down) the answer says so instead of keeping the page waiting.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from pydantic import ValidationError

from contracts.lookup import RecordingCandidate, RecordingCandidates, SearchRecordings
from infra.http import ExternalError

from .adapters.musicbrainz import MusicBrainz
from .domain.albums import best_release
from .domain.model import Query
from .domain.scoring import MatchConfig, rank
from .domain.text import clean_artist, clean_title, is_live

__all__ = ["RecordingLookup"]

log = logging.getLogger(__name__)


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


class RecordingLookup:
    def __init__(self, musicbrainz: MusicBrainz, cfg: MatchConfig, *, timeout_s: float = 12.0) -> None:
        self.musicbrainz = musicbrainz
        self.cfg = cfg
        self.timeout_s = timeout_s
        self._one_at_a_time = asyncio.Semaphore(2)  # people searching never crowd out the pipeline's own lookups

    async def search(self, ask: SearchRecordings) -> RecordingCandidates:
        query = Query(artist=clean_artist(ask.artist), title=clean_title(ask.title), live=is_live(ask.title))
        try:
            async with self._one_at_a_time:
                found = await asyncio.wait_for(self.musicbrainz.search(query), self.timeout_s)
        except (ExternalError, TimeoutError) as exc:
            log.info("lookup %s / %s: MusicBrainz unavailable (%s)", ask.artist, ask.title, exc)
            return RecordingCandidates(unavailable="MusicBrainz cannot be asked right now; try again in a moment")
        out = []
        for ranked in rank(query, found, self.cfg)[: ask.limit]:
            rec = ranked.recording
            release = best_release(rec.releases)
            out.append(
                RecordingCandidate(
                    recording_mbid=uuid.UUID(rec.mbid),
                    title=rec.title,
                    artist=rec.artist,
                    length_ms=rec.length_ms,
                    disambiguation=rec.disambiguation,
                    release=release.title if release else None,
                    release_mbid=_uuid(release.mbid) if release else None,
                    year=(release.year if release else None) or _year(rec.first_release_date),
                    distance=round(ranked.distance.value, 4),
                )
            )
        return RecordingCandidates(candidates=out)

    async def answer(self, body: bytes) -> bytes:
        """The NATS responder: bytes of a `SearchRecordings` in, bytes of `RecordingCandidates` out."""
        try:
            ask = SearchRecordings.model_validate_json(body)
        except ValidationError as exc:
            return RecordingCandidates(unavailable=f"bad request: {exc.errors()[0]['msg']}").model_dump_json().encode()
        return (await self.search(ask)).model_dump_json().encode()


def _year(date: str | None) -> int | None:
    return int(date[:4]) if date and date[:4].isdigit() else None
