"""ListenBrainz batch metadata (`/1/metadata/recording/?recording_mbids=…`): many recordings per request.

Candidates arrive one message at a time, handled concurrently. `ListenBrainzMetadata.recording(mbid)` parks the
request; a single flusher collects what arrived within `window_s` (up to `batch_size` MBIDs) and sends one request
for all of them, then answers every waiter. With the 1 request/s limit, the next batch fills while the limiter waits,
so the batch grows with the load instead of the request rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from infra.http import ApiClient, BadResponse

from ..domain.model import Artist, Recording, Release
from .cache import KvCache, cache_key

__all__ = ["ListenBrainzMetadata", "parse_lb_metadata"]

log = logging.getLogger(__name__)


def _genres(tags: dict[str, Any]) -> tuple[str, ...]:
    for group in ("recording", "release_group", "artist"):
        items = [t for t in tags.get(group) or [] if t.get("genre_mbid") and t.get("tag")]
        if items:
            items.sort(key=lambda t: -int(t.get("count") or 0))
            seen: list[str] = []
            for t in items:
                if t["tag"] not in seen:
                    seen.append(t["tag"])
            return tuple(seen[:5])
    return ()


def parse_lb_metadata(mbid: str, doc: dict[str, Any]) -> Recording | None:
    """A Recording from one entry, or None when ListenBrainz lacks what a track needs (title and artist)."""
    rec = doc.get("recording") or {}
    artist = doc.get("artist") or {}
    title = rec.get("name")
    credit = tuple(
        Artist(name=a.get("name") or "", join_phrase=a.get("join_phrase") or "", mbid=a.get("artist_mbid"))
        for a in artist.get("artists") or []
    )
    if not title or not credit:
        return None
    rel = doc.get("release") or {}
    releases: tuple[Release, ...] = ()
    if rel.get("name"):
        year = rel.get("year")
        releases = (
            Release(
                title=rel["name"],
                mbid=rel.get("mbid"),
                release_group_mbid=rel.get("release_group_mbid"),
                date=str(year) if year else None,
                artist=rel.get("album_artist_name"),
                caa_release_mbid=rel.get("caa_release_mbid"),
            ),
        )
    length = rec.get("length")
    return Recording(
        mbid=mbid,
        title=title,
        credit=credit,
        length_ms=int(length) if isinstance(length, int | float) else None,
        releases=releases,
        first_release_date=releases[0].date if releases else None,
        genres=_genres(doc.get("tag") or {}),
        releases_known=False,
    )


class ListenBrainzMetadata:
    def __init__(self, client: ApiClient, cache: KvCache, *, batch_size: int = 50, window_s: float = 0.05) -> None:
        self.client = client
        self.cache = cache
        self.batch_size = batch_size
        self.window_s = window_s
        self.batches: list[int] = []
        """Sizes of the batches sent (for benchmarks and health)."""
        self._waiting: dict[str, list[asyncio.Future[dict[str, Any] | None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def recording(self, mbid: str) -> Recording | None:
        key = cache_key("lb", mbid)
        cached = await self.cache.get(key)
        if cached is not None:
            doc = cached.get("x")
        else:
            doc = await self._fetch(mbid)
            await self.cache.put(key, {"x": doc})
        return parse_lb_metadata(mbid, doc) if doc else None

    async def _fetch(self, mbid: str) -> dict[str, Any] | None:
        self._ensure_flusher()
        fut: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(mbid, []).append(fut)
        self._wake.set()
        return await fut

    def _ensure_flusher(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._flush_forever(), name="lb-metadata-batcher")

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._waiting:
                continue
            await asyncio.sleep(self.window_s)  # let candidates that arrive together share the request
            while self._waiting:
                mbids = list(self._waiting)[: self.batch_size]
                waiters = {m: self._waiting.pop(m) for m in mbids}
                try:
                    found = await self._request(mbids)
                except Exception as exc:  # noqa: BLE001 — handed to every waiter, whose handler raises → redelivery
                    for futs in waiters.values():
                        for fut in futs:
                            if not fut.done():
                                fut.set_exception(exc)
                    continue
                for mbid, futs in waiters.items():
                    for fut in futs:
                        if not fut.done():
                            fut.set_result(found.get(mbid))

    async def _request(self, mbids: list[str]) -> dict[str, dict[str, Any]]:
        params = {"recording_mbids": ",".join(mbids), "inc": "artist tag release"}
        doc = await self.client.get_json("/1/metadata/recording/", params)
        self.batches.append(len(mbids))
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            raise BadResponse("listenbrainz", "/1/metadata/recording/", 200, "unexpected_shape", type(doc).__name__)
        return {k: v for k, v in doc.items() if isinstance(v, dict)}
