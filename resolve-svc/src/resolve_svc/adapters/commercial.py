"""iTunes Search and Deezer: album name and cover of the commercial (usually studio) album.

Both have tight budgets (iTunes about 20 searches a minute, Deezer 50 requests per 5 s answered by error code 4
"quota exceeded" inside a 200). They are optional links of the album chain, so they never stall the queue: a search
runs only when the shared budget has a slot free within `max_wait_s`; otherwise the caller skips to the next source
and says so in the explanation.
"""

from __future__ import annotations

import logging
from typing import Any

from infra.http import ApiClient, BadResponse, SourceUnavailable
from infra.ratelimit import KvSlotLimiter

from ..domain.albums import largest_deezer_cover
from ..domain.model import CommercialHit, Recording
from ..domain.text import clean_artist
from .cache import KvCache, cache_key

__all__ = ["BudgetExhausted", "Deezer", "ITunes", "parse_deezer", "parse_itunes"]

log = logging.getLogger(__name__)


class BudgetExhausted(Exception):
    """The source's request budget is spent for now: skip it, do not wait."""


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

    def __init__(
        self,
        client: ApiClient,
        cache: KvCache,
        budget: KvSlotLimiter,
        *,
        max_wait_s: float,
        next_source: KvSlotLimiter | None = None,
        wait_cap_s: float = 30.0,
    ) -> None:
        self.client = client
        self.cache = cache
        self.budget = budget
        self.max_wait_s = max_wait_s
        self.next_source = next_source
        """The budget of the source the chain falls back to: waiting here is worth it while that queue is longer."""
        self.wait_cap_s = wait_cap_s
        self.skipped = 0

    async def _patience(self) -> float:
        if self.next_source is None:
            return self.max_wait_s
        return max(self.max_wait_s, min(self.wait_cap_s, await self.next_source.delay()))

    async def search(self, rec: Recording) -> list[CommercialHit]:
        """Hits for the recording; raises BudgetExhausted (skip) or SourceUnavailable (skip, noted)."""
        artist = clean_artist(rec.credit[0].name if rec.credit else rec.artist)
        key = cache_key(self.name, artist, rec.title)
        cached = await self.cache.get(key)
        if cached is not None:
            return self._parse(cached["x"])
        if not await self.budget.try_acquire(await self._patience()):
            self.skipped += 1
            raise BudgetExhausted(f"{self.name} budget spent")
        doc = await self._query(artist, rec.title)
        await self.cache.put(key, {"x": doc})
        return self._parse(doc)

    async def _query(self, artist: str, title: str) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, doc: dict[str, Any]) -> list[CommercialHit]:
        raise NotImplementedError


class ITunes(_Commercial):
    name = "itunes"

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
                self.budget.penalize(5.0)
                raise BudgetExhausted("deezer answered quota exceeded (code 4)")
            raise SourceUnavailable("deezer", "/search", 200, "api_error", str(error)[:200])
        return doc

    def _parse(self, doc: dict[str, Any]) -> list[CommercialHit]:
        return parse_deezer(doc)
