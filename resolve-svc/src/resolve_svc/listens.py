"""Match a recorded play to a MusicBrainz recording, with the same MusicBrainz client, rate budget and scoring as
the track resolution, but none of the album and cover work (a play needs its recording, nothing more).

Order of evidence:
1. the source's own recording MBID when it is MusicBrainz's answer (ListenBrainz's `mbid_mapping`, a library tag):
   taken as it is, no request;
2. a Last.fm `mbid`: looked up, and kept only when that recording's artist and title are the play's;
3. the ISRC: the recordings MusicBrainz lists for it, ranked against the play's text;
4. the text: a MusicBrainz search, ranked, kept only under the match threshold.

Most plays repeat tracks: the answer is cached by the folded artist and title (`listen.<sha1>` in `resolve_cache`),
so a play of a track seen before costs no request. "Not found" is cached too, so ten thousand plays of an unknown
track cost one; a retry (`MatchListen`) reads past both caches and asks MusicBrainz again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from contracts.base import Message
from contracts.common import MatchMethod, Penalty
from contracts.gateway import MatchListen
from contracts.ingest import ListenRecorded
from contracts.resolve import ListenMatched, ListenUnmatched, ListenUnmatchedReason

from .adapters.cache import cache_key
from .domain.model import Query, Recording
from .domain.scoring import MatchConfig, rank
from .domain.text import clean_artist, clean_title, fold, is_live, split_artist_prefix
from .ports import Cache, RecordingSource

__all__ = ["ListenMatcher", "ListenQuery", "listen_cache_key"]

_NS = uuid.UUID("9c4f3a1e-2d7b-4e0a-8b5c-6f1e2d3c4b5a")


@dataclass(frozen=True)
class ListenQuery:
    listen_id: UUID
    source: str
    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = None
    recording_mbid: UUID | None = None
    trusted: bool = False
    isrc: str | None = None
    attempt: int = 1

    @classmethod
    def of(cls, event: ListenRecorded | MatchListen) -> ListenQuery:
        if isinstance(event, ListenRecorded):
            return cls(
                event.event_id,
                str(event.source),
                event.artist,
                event.title,
                event.album,
                event.duration_ms,
                event.recording_mbid,
                event.trusted_mbid() is not None,
                event.isrc,
            )
        return cls(
            event.listen_id,
            event.source,
            event.artist,
            event.title,
            event.album,
            event.duration_ms,
            event.recording_mbid,
            event.source != "lastfm" and event.recording_mbid is not None,
            event.isrc,
            event.attempt,
        )


@dataclass(frozen=True)
class _Answer:
    mbid: str | None
    method: str | None = None
    distance: float = 0.0
    artist: str | None = None
    title: str | None = None
    reason: str | None = None
    detail: str = ""
    penalties: tuple[tuple[str, float, str], ...] = ()


def listen_cache_key(artist: str, title: str) -> str:
    """Folded, with a leading article dropped: "The Beatles" and "BEATLES" are one artist to a scrobbler."""
    folded = fold(clean_artist(artist))
    return cache_key("listen", folded.removeprefix("the "), fold(clean_title(title)))


class ListenMatcher:
    def __init__(
        self,
        musicbrainz: RecordingSource,
        fresh: RecordingSource,
        cache: Cache,
        cfg: MatchConfig,
        memory_size: int = 20_000,
    ) -> None:
        self.musicbrainz = musicbrainz
        self.fresh = fresh
        """The same client reading past the response cache (a retry must see what MusicBrainz knows now)."""
        self.cache = cache
        self.cfg = cfg
        self._inflight: dict[str, asyncio.Lock] = {}
        self._memory: OrderedDict[str, _Answer] = OrderedDict()
        """The newest answers in this process, in front of the shared KV cache (a history repeats its head)."""
        self.memory_size = memory_size

    def _remember(self, key: str, answer: _Answer) -> None:
        self._memory[key] = answer
        self._memory.move_to_end(key)
        if len(self._memory) > self.memory_size:
            self._memory.popitem(last=False)

    async def match(self, cause: Message, q: ListenQuery) -> ListenMatched | ListenUnmatched | None:
        """The answer to publish; None for a play whose source's own MBID is the match (the store reads it there)."""
        if q.trusted and q.attempt == 1:
            # MusicBrainz's own answer for this text: later plays of it from a source without one cost nothing
            key = listen_cache_key(q.artist, q.title)
            if q.recording_mbid and key not in self._memory and await self.cache.get(key) is None:
                answer = _Answer(str(q.recording_mbid), MatchMethod.MBID)
                await self.cache.put(key, answer.__dict__)
                self._remember(key, answer)
            return None
        if q.trusted and q.recording_mbid:
            return self._event(cause, q, _Answer(str(q.recording_mbid), MatchMethod.MBID))
        key = listen_cache_key(q.artist, q.title)
        retry = q.attempt > 1
        # plays of one track arrive together (a page of history): one asks, the others wait and read its answer
        lock = self._inflight.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if not retry:
                    remembered = self._memory.get(key)
                    if remembered is not None:
                        return self._event(cause, q, remembered)
                    cached = await self.cache.get(key)
                    if cached is not None:
                        self._remember(key, _Answer(**cached))
                        return self._event(cause, q, _Answer(**cached))
                answer = await self._ask(q, self.fresh if retry else self.musicbrainz)
                await self.cache.put(key, {k: v for k, v in answer.__dict__.items() if k != "penalties"})
                self._remember(key, answer)
        finally:
            if not lock.locked() and self._inflight.get(key) is lock:
                del self._inflight[key]
        return self._event(cause, q, answer)

    async def _ask(self, q: ListenQuery, mb: RecordingSource) -> _Answer:
        query = _query(q)
        rejected = ""
        if q.recording_mbid is not None:
            rec = await mb.lookup(str(q.recording_mbid))
            if rec is not None and query is not None:
                top = rank(query, [rec], self.cfg)[0]
                if top.distance.value <= self.cfg.max_distance:
                    return _found(rec, MatchMethod.MBID, top.distance.value)
                rejected = f"{q.source} mbid {q.recording_mbid} is {rec.artist} - {rec.title}"
            else:
                rejected = f"{q.source} mbid {q.recording_mbid} is unknown to MusicBrainz"
        if q.isrc:
            candidates = await mb.by_isrc(q.isrc)
            if candidates and query is not None:
                top = rank(query, candidates, self.cfg)[0]
                if top.distance.value <= self.cfg.max_distance:
                    return _found(top.recording, MatchMethod.ISRC, top.distance.value)
            elif len(candidates) == 1:
                return _found(candidates[0], MatchMethod.ISRC, 0.0)
        if query is None:
            reason = ListenUnmatchedReason.MBID_REJECTED if rejected else ListenUnmatchedReason.INVALID_INPUT
            return _Answer(None, reason=reason, detail=rejected or "no artist and title")
        candidates = await mb.search(query)
        if not candidates:
            reason = ListenUnmatchedReason.MBID_REJECTED if rejected else ListenUnmatchedReason.NOT_FOUND
            return _Answer(None, reason=reason, detail=rejected or "MusicBrainz has no recording of that text")
        top = rank(query, candidates, self.cfg)[0]
        if top.distance.value > self.cfg.max_distance:
            penalties = tuple((p.name, round(p.weighted, 4), p.detail) for p in top.distance.top(3))
            detail = f"closest: {top.recording.artist} - {top.recording.title} ({top.distance.value:.2f})"
            return _Answer(None, reason=ListenUnmatchedReason.BELOW_THRESHOLD, detail=detail, penalties=penalties)
        return _found(top.recording, MatchMethod.FUZZY, top.distance.value)

    @staticmethod
    def _event(cause: Message, q: ListenQuery, a: _Answer) -> ListenMatched | ListenUnmatched:
        # one answer per play and attempt: a redelivered cause publishes the same id and the server keeps one
        if a.mbid is not None:
            return ListenMatched.caused_by(
                cause,
                event_id=uuid.uuid5(_NS, f"matched:{q.listen_id}:{q.attempt}"),
                listen_id=q.listen_id,
                recording_mbid=UUID(a.mbid),
                method=MatchMethod(a.method or MatchMethod.MBID),
                distance=round(a.distance, 4),
                artist=a.artist,
                title=a.title,
                attempt=q.attempt,
            )
        return ListenUnmatched.caused_by(
            cause,
            event_id=uuid.uuid5(_NS, f"unmatched:{q.listen_id}:{q.attempt}"),
            listen_id=q.listen_id,
            reason=ListenUnmatchedReason(a.reason or ListenUnmatchedReason.NOT_FOUND),
            detail=a.detail,
            top_penalties=[Penalty(name=n, value=v, detail=d) for n, v, d in a.penalties],
            attempt=q.attempt,
        )


def _query(q: ListenQuery) -> Query | None:
    artist, title = split_artist_prefix(q.title or "", q.artist)
    if not (artist and title):
        return None
    return Query(
        artist=clean_artist(artist),
        title=clean_title(title),
        album=None,  # the release a service names is often a compilation: it only confuses the search
        duration_ms=q.duration_ms,
        live=is_live(title),
    )


def _found(rec: Recording, method: MatchMethod, distance: float) -> _Answer:
    return _Answer(rec.mbid, method, distance, rec.artist, rec.title)
