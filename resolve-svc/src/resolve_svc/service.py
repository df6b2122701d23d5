"""Use cases of resolve-svc: turn a candidate or a request into `TrackResolved` or `TrackUnresolved`.

Identifiers first: a recording MBID is looked up (ListenBrainz batch metadata, MusicBrainz only where that is not
enough) and never fuzzy-matched; then an ISRC; only then cleaned text through a MusicBrainz search, scored with an
explainable distance. Below the threshold the answer is "unresolved" with the top penalties, never a silent guess.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from uuid import UUID

from contracts.base import Message
from contracts.common import (
    ArtistCredit,
    CandidateSource,
    MatchExplanation,
    MatchMethod,
    Penalty,
    TrackMetadata,
    TrackQuery,
)
from contracts.resolve import TrackResolved, TrackUnresolved, UnresolvedReason

from .adapters.cache import cache_key
from .chain import AlbumChain, AlbumChoice
from .domain.model import Query, Recording
from .domain.scoring import MatchConfig, Ranked, WeightedPenalty, rank
from .domain.text import clean_artist, clean_title, is_live, split_artist_prefix
from .ports import Cache, MetadataBatch, RecordingSource

__all__ = ["Outcome", "Resolver", "event_id"]

log = logging.getLogger(__name__)

_NS = uuid.UUID("6f0c6a52-4d0e-4f7c-9a43-2b3c1f0d9e11")


def event_id(kind: str, cause: Message) -> UUID:
    """Deterministic: a redelivered cause publishes the same id, and JetStream's dedup keeps one copy."""
    return uuid.uuid5(_NS, f"{kind}:{cause.event_id}")


@dataclass(frozen=True)
class Outcome:
    track: TrackMetadata | None
    explanation: MatchExplanation | None
    reason: UnresolvedReason | None = None
    top_penalties: tuple[Penalty, ...] = ()
    candidate_count: int = 0


def _penalties(items: list[WeightedPenalty]) -> list[Penalty]:
    return [Penalty(name=p.name, value=round(p.weighted, 4), detail=p.detail) for p in items]


class Resolver:
    def __init__(
        self,
        metadata: MetadataBatch,
        musicbrainz: RecordingSource,
        chain: AlbumChain,
        cache: Cache,
        cfg: MatchConfig,
    ) -> None:
        self.metadata = metadata
        self.musicbrainz = musicbrainz
        self.chain = chain
        self.cache = cache
        self.cfg = cfg

    # use cases ---------------------------------------------------------------------------------------------------

    async def resolve(self, query: TrackQuery, *, rematch_mbid: UUID | None = None, may_defer: bool = False) -> Outcome:
        """The outcome; raises `Defer` when a store is only busy and `may_defer` (the delivery is not the last)."""
        mbid = rematch_mbid or query.recording_mbid
        if mbid is not None:
            return await self._by_mbid(str(mbid), may_defer)
        if query.isrc:
            outcome = await self._by_isrc(query, may_defer)
            if outcome is not None:
                return outcome
        if query.title and split_artist_prefix(query.title, query.artist)[0]:
            return await self._by_text(query, may_defer)
        return Outcome(None, None, UnresolvedReason.INVALID_INPUT)

    def resolved_event(
        self, cause: Message, outcome: Outcome, origin: CandidateSource, **extra: object
    ) -> TrackResolved | None:
        if outcome.track is None or outcome.explanation is None:
            return None
        return TrackResolved.caused_by(
            cause,
            event_id=event_id("resolved", cause),
            track=outcome.track,
            origin=origin,
            explanation=outcome.explanation,
            **extra,
        )

    def unresolved_event(
        self, cause: Message, outcome: Outcome, query: TrackQuery, origin: CandidateSource, **extra: object
    ) -> TrackUnresolved:
        return TrackUnresolved.caused_by(
            cause,
            event_id=event_id("unresolved", cause),
            query=query,
            origin=origin,
            reason=outcome.reason or UnresolvedReason.NOT_FOUND,
            top_penalties=list(outcome.top_penalties),
            candidate_count=outcome.candidate_count,
            **extra,
        )

    # identifiers -------------------------------------------------------------------------------------------------

    async def _by_mbid(self, mbid: str, may_defer: bool) -> Outcome:
        key = cache_key("track", mbid)
        cached = await self.cache.get(key)
        if cached is not None:
            return Outcome(
                TrackMetadata.model_validate(cached["track"]),
                MatchExplanation.model_validate(cached["explanation"]),
            )
        rec = await self.metadata.recording(mbid)
        if rec is None:
            rec = await self.musicbrainz.lookup(mbid)  # ListenBrainz does not know it well enough
        if rec is None:
            return Outcome(None, None, UnresolvedReason.NOT_FOUND)
        outcome = await self._finish(rec, MatchMethod.MBID, 0.0, [], 1, may_defer)
        assert outcome.track is not None and outcome.explanation is not None
        track, explanation = outcome.track.model_dump(mode="json"), outcome.explanation.model_dump(mode="json")
        await self.cache.put(key, {"track": track, "explanation": explanation})
        return outcome

    async def _by_isrc(self, query: TrackQuery, may_defer: bool) -> Outcome | None:
        assert query.isrc is not None
        candidates = await self.musicbrainz.by_isrc(query.isrc)
        if not candidates:
            return None  # fall through to text when there is some
        if len(candidates) == 1 or not (query.title and query.artist):
            best = sorted(candidates, key=lambda r: (r.first_release_date or "9999", r.mbid))[0]
            return await self._finish(best, MatchMethod.ISRC, 0.0, [], len(candidates), may_defer)
        ranked = rank(self._clean(query), candidates, self.cfg)
        top = ranked[0]
        return await self._finish(
            top.recording, MatchMethod.ISRC, top.distance.value, top.distance.top(5), len(candidates), may_defer
        )

    async def _by_text(self, query: TrackQuery, may_defer: bool) -> Outcome:
        cleaned = self._clean(query)
        candidates = await self.musicbrainz.search(cleaned)
        if not candidates:
            return Outcome(None, None, UnresolvedReason.NOT_FOUND)
        ranked: list[Ranked] = rank(cleaned, candidates, self.cfg)
        top = ranked[0]
        if top.distance.value > self.cfg.max_distance:
            return Outcome(
                None,
                None,
                UnresolvedReason.BELOW_THRESHOLD,
                tuple(_penalties(top.distance.top(3))),
                len(candidates),
            )
        return await self._finish(
            top.recording, MatchMethod.FUZZY, top.distance.value, top.distance.top(5), len(candidates), may_defer
        )

    @staticmethod
    def _clean(query: TrackQuery) -> Query:
        artist, title = split_artist_prefix(query.title or "", query.artist)
        return Query(
            artist=clean_artist(artist or ""),
            title=clean_title(title),
            album=clean_title(query.album) if query.album else None,
            duration_ms=query.duration_ms,
            live=is_live(title),
        )

    # album, cover, output ----------------------------------------------------------------------------------------

    async def _finish(
        self,
        rec: Recording,
        method: MatchMethod,
        distance: float,
        penalties: list[WeightedPenalty],
        count: int,
        may_defer: bool,
    ) -> Outcome:
        choice, rec = await self.chain.choose(rec, may_defer=may_defer)
        explanation = MatchExplanation(
            method=method,
            distance=round(distance, 4),
            penalties=_penalties(penalties),
            candidate_count=count,
            notes=choice.notes,
        )
        return Outcome(_metadata(rec, choice), explanation)


def _metadata(rec: Recording, choice: AlbumChoice) -> TrackMetadata:
    hit, release = choice.hit, choice.release
    date = choice.date
    year = int(date[:4]) if date and date[:4].isdigit() else None
    group = choice.release_group_mbid or (release.release_group_mbid if release else None)
    src = hit if hit is not None else release
    return TrackMetadata(
        recording_mbid=UUID(rec.mbid),
        title=rec.title,
        artist=rec.artist,
        artist_credit=[
            ArtistCredit(name=a.name, join_phrase=a.join_phrase, mbid=UUID(a.mbid) if a.mbid else None)
            for a in rec.credit
        ],
        album_artist=choice.album_artist,
        album=choice.album,
        album_source=choice.source,
        release_group_mbid=UUID(group) if group else None,
        release_mbid=UUID(release.mbid) if release and release.mbid and hit is None else None,
        album_artist_mbids=[UUID(rec.credit[0].mbid)] if rec.credit and rec.credit[0].mbid else [],
        track_number=src.track_number if src else None,
        track_total=src.track_total if src else None,
        disc_number=src.disc_number if src else None,
        disc_total=src.disc_total if src else None,
        year=year,
        original_date=date,
        isrcs=list(rec.isrcs),
        duration_ms=rec.length_ms,
        genres=list(rec.genres),
        cover=choice.cover,
    )
