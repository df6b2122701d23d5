"""MusicBrainz WS/2: recording lookup by MBID, search by ISRC and by text. Parsing turns its JSON into domain types.

Every call goes through the shared `ApiClient` (User-Agent with contact, retries, 503/Retry-After) whose limiter is
the cross-replica slot in `rate_limits`; every answer is cached, so a recording seen again costs nothing.
"""

from __future__ import annotations

from typing import Any

from infra.http import ApiClient, NotFound

from ..domain.model import Artist, Query, Recording, Release
from .cache import KvCache, cache_key

__all__ = ["MusicBrainz", "parse_recording"]

_INC = "artist-credits+aliases+releases+release-groups+isrcs+media+genres"  # aliases: Latin spellings
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')


def _escape(text: str) -> str:
    return "".join("\\" + c if c in _LUCENE_SPECIAL else c for c in text)


def _credit(items: list[dict[str, Any]] | None) -> tuple[Artist, ...]:
    out = []
    for item in items or []:
        artist = item.get("artist") or {}
        aliases = tuple(a["name"] for a in artist.get("aliases") or [] if a.get("name"))
        out.append(
            Artist(
                name=item.get("name") or artist.get("name") or "",
                join_phrase=item.get("joinphrase") or "",
                mbid=artist.get("id"),
                sort_name=artist.get("sort-name"),
                aliases=aliases,
            )
        )
    return tuple(out)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _release(doc: dict[str, Any]) -> Release:
    rg = doc.get("release-group") or {}
    media = doc.get("media") or []
    track_number = disc_number = track_total = None
    for medium in media:
        tracks = medium.get("track") or medium.get("tracks") or []
        if tracks:
            track_number = _int(tracks[0].get("number")) or _int(tracks[0].get("position"))
            disc_number = _int(medium.get("position"))
            track_total = _int(medium.get("track-count"))
            break
    credit = _credit(doc.get("artist-credit"))
    return Release(
        title=doc.get("title") or "",
        mbid=doc.get("id"),
        release_group_mbid=rg.get("id"),
        primary_type=rg.get("primary-type"),
        secondary_types=tuple(rg.get("secondary-types") or ()),
        status=doc.get("status"),
        date=rg.get("first-release-date") or doc.get("date") or None,
        artist="".join(a.name + a.join_phrase for a in credit) or None,
        track_number=track_number,
        track_total=track_total,
        disc_number=disc_number,
        disc_total=len(media) or None,
        caa_release_mbid=doc.get("id"),
    )


def parse_recording(doc: dict[str, Any]) -> Recording:
    genres = sorted(doc.get("genres") or [], key=lambda g: -int(g.get("count") or 0))
    return Recording(
        mbid=doc["id"],
        title=doc.get("title") or "",
        credit=_credit(doc.get("artist-credit")),
        length_ms=_int(doc.get("length")),
        disambiguation=doc.get("disambiguation") or "",
        isrcs=tuple(doc.get("isrcs") or ()),
        releases=tuple(_release(r) for r in doc.get("releases") or []),
        first_release_date=doc.get("first-release-date") or None,
        genres=tuple(g["name"] for g in genres[:5] if g.get("name")),
    )


class MusicBrainz:
    def __init__(self, client: ApiClient, cache: KvCache, *, search_limit: int = 25) -> None:
        self.client = client
        self.cache = cache
        self.search_limit = search_limit

    async def lookup(self, mbid: str) -> Recording | None:
        async def load() -> dict[str, Any] | None:
            try:
                doc = await self.client.get_json(f"/ws/2/recording/{mbid}", {"inc": _INC, "fmt": "json"})
            except NotFound:
                return None
            return doc if isinstance(doc, dict) else None

        doc = await self.cache.through(cache_key("mb", "lookup", mbid), load)
        return parse_recording(doc) if doc and doc.get("id") else None

    async def _search(self, lucene: str) -> list[Recording]:
        async def load() -> list[dict[str, Any]]:
            params = {"query": lucene, "fmt": "json", "limit": str(self.search_limit)}
            doc = await self.client.get_json("/ws/2/recording", params)
            return list((doc or {}).get("recordings") or [])

        docs = await self.cache.through(cache_key("mb", "search", lucene), load)
        return [parse_recording(d) for d in docs if d.get("id")]

    async def by_isrc(self, isrc: str) -> list[Recording]:
        return await self._search(f"isrc:{_escape(isrc.upper())}")

    async def search(self, query: Query) -> list[Recording]:
        # '+' terms must match; album and duration only boost, so a different album name never hides the recording
        parts = [f'+recording:"{_escape(query.title)}"', f'+artist:"{_escape(query.artist)}"']
        if query.album:
            parts.append(f'release:"{_escape(query.album)}"')
        if query.duration_ms:
            low, high = max(0, query.duration_ms - 5000), query.duration_ms + 5000
            parts.append(f"dur:[{low} TO {high}]")
        return await self._search(" ".join(parts))
