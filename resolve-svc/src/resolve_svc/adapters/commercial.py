"""iTunes Search and Deezer: album name and cover of the commercial (usually studio) album.

Both have tight budgets (iTunes about 20 searches a minute and a 403 past it, Deezer 50 requests per 5 s answered by
error code 4 "quota exceeded" inside a 200). A store that is only busy must not change the answer, so a search takes
a slot of the shared budget (`infra.ratelimit`): within `wait_here_s` it waits for it, further off it keeps the slot
for this track and raises `BudgetExhausted` with the time to come back, and the track is deferred (the chain decides).
A store that refuses for its budget pushes the shared slot back and is treated the same way.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from infra.http import ApiClient, BadResponse, ExternalError, SourceUnavailable
from infra.ratelimit import KvSlotLimiter

from ..domain.albums import largest_deezer_cover
from ..domain.model import CommercialHit, Recording
from ..domain.text import clean_artist
from .cache import KvCache, cache_key

__all__ = ["BudgetExhausted", "Deezer", "ITunes", "parse_deezer", "parse_itunes"]

log = logging.getLogger(__name__)


class BudgetExhausted(Exception):
    """The source's request budget is spent for now: come back in `retry_in_s` (its slot is kept when `reserved`)."""

    def __init__(self, message: str, retry_in_s: float, *, reserved: bool = False) -> None:
        super().__init__(message)
        self.retry_in_s = max(0.0, retry_in_s)
        self.reserved = reserved


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_itunes(doc: dict[str, Any]) -> list[CommercialHit]:
    hits = []
    for r in doc.get("results") or []:
        if r.get("wrapperType") not in (None, "track") or not r.get("trackName") or not r.get("collectionName"):
            continue
        hits.append(
            CommercialHit(
                source="itunes",
                artist=r.get("artistName") or "",
                title=r["trackName"],
                album=r["collectionName"],
                duration_ms=_int(r.get("trackTimeMillis")),
                album_artist=r.get("collectionArtistName"),
                cover_url=r.get("artworkUrl100") or r.get("artworkUrl60"),
                track_number=_int(r.get("trackNumber")),
                track_total=_int(r.get("trackCount")),
                disc_number=_int(r.get("discNumber")),
                disc_total=_int(r.get("discCount")),
                release_date=(r.get("releaseDate") or "")[:10] or None,
                collection_type=r.get("collectionType"),
            )
        )
    return hits


def parse_deezer(doc: dict[str, Any]) -> list[CommercialHit]:
    hits = []
    for r in doc.get("data") or []:
        album = r.get("album") or {}
        if not r.get("title") or not album.get("title"):
            continue
        cover, _ = largest_deezer_cover({k: v for k, v in album.items() if isinstance(v, str)})
        duration = _int(r.get("duration"))
        hits.append(
            CommercialHit(
                source="deezer",
                artist=(r.get("artist") or {}).get("name") or "",
                title=r["title"],
                album=album["title"],
                duration_ms=duration * 1000 if duration is not None else None,
                cover_url=cover,
                release_date=album.get("release_date"),
                collection_type=album.get("record_type"),
            )
        )
    return hits


class _Commercial:
    name = ""
    refusal_statuses: frozenset[int] = frozenset({429})
    """HTTP statuses by which the store says "over budget" (iTunes answers 403)."""

    def __init__(
        self,
        client: ApiClient,
        cache: KvCache,
        budget: KvSlotLimiter,
        *,
        wait_here_s: float,
        max_queue_s: float,
        refusal_pause_s: float,
    ) -> None:
        self.client = client
        self.cache = cache
        self.budget = budget
        self.wait_here_s = wait_here_s
        """A slot sooner than this is waited for in the worker; a later one defers the track."""
        self.max_queue_s = max_queue_s
        """A queue longer than this reserves nothing: the track comes back after this long and asks again."""
        self.refusal_pause_s = refusal_pause_s
        """How long every replica leaves the store alone after it refused for its budget."""
        self.deferred = 0

    async def search(self, rec: Recording) -> list[CommercialHit]:
        """Hits for the recording; raises BudgetExhausted (come back later) or SourceUnavailable (skip, noted)."""
        artist = clean_artist(rec.credit[0].name if rec.credit else rec.artist)
        key = cache_key(self.name, artist, rec.title)
        cached = await self.cache.get(key)
        if cached is not None:
            return self._parse(cached["x"])
        token = hashlib.sha1(key.encode()).hexdigest()[:24]  # a KV-safe name for this search's reserved slot
        wait = await self.budget.hold(token, wait_here_s=self.wait_here_s, max_queue_s=self.max_queue_s)
        if wait is None:
            self.deferred += 1
            raise BudgetExhausted(f"{self.name} queue longer than {self.max_queue_s:.0f}s", self.max_queue_s)
        if wait > 0:
            self.deferred += 1
            # back a little before the slot, so the worker waits the rest rather than missing it
            raise BudgetExhausted(f"{self.name} slot in {wait:.1f}s", wait - self.wait_here_s / 2, reserved=True)
        try:
            doc = await self._query(artist, rec.title)
        except ExternalError as exc:
            if exc.status not in self.refusal_statuses:
                raise
            self.budget.penalize(self.refusal_pause_s)
            raise BudgetExhausted(f"{self.name} refused: over its budget ({exc.status})", self.refusal_pause_s) from exc
        await self.cache.put(key, {"x": doc})
        return self._parse(doc)

    async def _query(self, artist: str, title: str) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, doc: dict[str, Any]) -> list[CommercialHit]:
        raise NotImplementedError


class ITunes(_Commercial):
    name = "itunes"
    refusal_statuses = frozenset({403, 429})

    async def _query(self, artist: str, title: str) -> dict[str, Any]:
        params = {"term": f"{artist} {title}", "media": "music", "entity": "song", "limit": "15"}
        doc = await self.client.get_json("/search", params)
        if not isinstance(doc, dict):
            raise BadResponse("itunes", "/search", 200, "unexpected_shape", type(doc).__name__)
        return doc

    def _parse(self, doc: dict[str, Any]) -> list[CommercialHit]:
        return parse_itunes(doc)


class Deezer(_Commercial):
    name = "deezer"

    async def _query(self, artist: str, title: str) -> dict[str, Any]:
        q = f'artist:"{artist.replace(chr(34), "")}" track:"{title.replace(chr(34), "")}"'
        doc = await self.client.get_json("/search", {"q": q, "limit": "15"})
        if not isinstance(doc, dict):
            raise BadResponse("deezer", "/search", 200, "unexpected_shape", type(doc).__name__)
        error = doc.get("error")
        if isinstance(error, dict):
            if error.get("code") == 4:  # "Quota limit exceeded", inside an HTTP 200
                self.budget.penalize(self.refusal_pause_s)
                raise BudgetExhausted("deezer answered quota exceeded (code 4)", self.refusal_pause_s)
            raise SourceUnavailable("deezer", "/search", 200, "api_error", str(error)[:200])
        return doc

    def _parse(self, doc: dict[str, Any]) -> list[CommercialHit]:
        return parse_deezer(doc)
