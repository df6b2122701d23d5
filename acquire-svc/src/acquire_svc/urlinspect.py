"""A manual request that gives only a URL: what track is it?

The URL is fetched the way the `url` backend fetches (its SSRF guard, redirect checks and size cap). An audio file is
read for its own tags: a MusicBrainz recording id, an ISRC, artist, title, album, length. A web page is read by
yt-dlp for what plays on it (`track`/`artist`, or a "Artist - Title" video title). What is found is published as
`UrlInspected` and resolve-svc resolves it like any request, the recording id first.

When nothing names a track (no recording id, no artist and title), or the URL cannot be had (refused, 4xx, not
audio), the request ends with `UrlRejected` and the reason, in words: retrying cannot help. A fault (5xx, timeout)
raises, so the request is retried with back-off.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import mutagen

from contracts.acquire import UrlInspected, UrlMetadataSource, UrlProblem, UrlRejected
from contracts.base import Message
from contracts.common import TrackQuery
from contracts.gateway import RequestTrack

from .adapters.staging import Staging
from .backends.url import APage, UrlBackend
from .backends.ytdlp import PageReader
from .ports import Candidate, CandidateRefused

__all__ = ["UrlInspector", "query_from_page", "query_from_tags"]

log = logging.getLogger(__name__)

Publish = Callable[[Message], Awaitable[object]]

_SEPARATOR = re.compile(r"\s+[-\u2013\u2014]\s+")  # hyphen, en dash, em dash


def _first(tags: Any, key: str) -> str | None:
    try:
        values = tags.get(key) if tags is not None else None
    except (KeyError, ValueError):  # an easy-tag key this format does not map
        return None
    if isinstance(values, list):
        values = values[0] if values else None
    text = str(values).strip() if values is not None else ""
    return text or None


def _mbid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def query_from_tags(path: Path) -> TrackQuery | None:
    """The track a file's own tags name; None when mutagen does not read it as audio."""
    try:
        audio = mutagen.File(path, easy=True)  # type: ignore[attr-defined]
    except mutagen.MutagenError:  # a suffix that promises audio, bytes that are not
        return None
    if audio is None:
        return None
    tags = audio.tags
    length = getattr(audio.info, "length", None)
    return TrackQuery(
        recording_mbid=_mbid(_first(tags, "musicbrainz_trackid")),
        isrc=_first(tags, "isrc"),
        artist=_first(tags, "artist"),
        title=_first(tags, "title"),
        album=_first(tags, "album"),
        duration_ms=int(length * 1000) if length else None,
    )


def query_from_page(info: dict[str, Any]) -> TrackQuery:
    """The track yt-dlp's metadata of a page names: its music fields, else a "Artist - Title" title."""
    artist = info.get("artist") or info.get("creator")
    title = info.get("track")
    if not (artist and title) and info.get("title"):
        parts = _SEPARATOR.split(str(info["title"]), maxsplit=1)
        if len(parts) == 2:  # resolve-svc cleans "(Official Video)" and the like from the title
            artist, title = artist or parts[0], parts[1]
    duration = info.get("duration")
    return TrackQuery(
        artist=str(artist).split(",")[0].strip() if artist else None,
        title=str(title).strip() if title else None,
        album=info.get("album") or None,
        isrc=info.get("isrc") or None,
        duration_ms=int(float(duration) * 1000) if duration else None,
    )


def _event_id(cause: Message, step: str) -> uuid.UUID:
    # the same id on a redelivery, so the server stores the answer once
    return uuid.uuid5(cause.event_id, step)


def _names_a_track(q: TrackQuery) -> bool:
    return q.recording_mbid is not None or bool(q.artist and q.title)


class UrlInspector:
    def __init__(self, url: UrlBackend, read_page: PageReader, staging: Staging, publish: Publish) -> None:
        self.url = url
        self.read_page = read_page
        self.staging = staging
        self.publish = publish

    async def handle(self, event: RequestTrack, progress: Callable[[int], Awaitable[None]]) -> None:
        if not event.url_only or event.url is None:
            return  # a request that names its track goes straight to resolve-svc
        url = event.url
        try:
            query, source = await self._inspect(event, url, progress)
        except CandidateRefused as exc:
            problem = UrlProblem.REFUSED if exc.detail.startswith("refused") else UrlProblem.DOWNLOAD_FAILED
            await self._rejected(event, url, problem, exc.detail)
            return
        if query is None:
            await self._rejected(event, url, UrlProblem.NOT_AUDIO, "the file is not audio that can be read")
            return
        if not _names_a_track(query):
            where = "the file's tags" if source is UrlMetadataSource.FILE_TAGS else "the page's metadata"
            seen = ", ".join(f"{k} {v!r}" for k, v in (("artist", query.artist), ("title", query.title)) if v)
            detail = f"{where} name no artist and title" + (f" (only {seen})" if seen else "")
            await self._rejected(event, url, UrlProblem.NO_METADATA, detail)
            return
        log.info("%s is %s - %s (%s)", url, query.artist, query.title, source.value)
        await self.publish(
            UrlInspected.caused_by(
                event,
                event_id=_event_id(event, "url-inspected"),
                request_id=event.request_id,
                url=url,
                query=query,
                source=source,
            )
        )

    async def _inspect(
        self, event: RequestTrack, url: str, progress: Callable[[int], Awaitable[None]]
    ) -> tuple[TrackQuery | None, UrlMetadataSource]:
        with self.staging.work(f"url-{event.request_id}") as work:
            try:
                path = await self.url.fetch(Candidate("url", url, url, ref=url), work, progress)
            except APage as page:
                info = await self.read_page(page.url)
                return query_from_page(info), UrlMetadataSource.PAGE
            return await asyncio.to_thread(query_from_tags, path), UrlMetadataSource.FILE_TAGS

    async def _rejected(self, event: RequestTrack, url: str, problem: UrlProblem, detail: str) -> None:
        log.warning("request %s: %s is rejected: %s (%s)", event.request_id, url, problem.value, detail)
        await self.publish(
            UrlRejected.caused_by(
                event,
                event_id=_event_id(event, "url-rejected"),
                request_id=event.request_id,
                url=url,
                reason=problem,
                detail=detail,
            )
        )
