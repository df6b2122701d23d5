"""Subscribers of resolve-svc: decode → service call → publish. A fault raises (redelivery with back-off)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from contracts.acquire import UrlInspected
from contracts.base import Message
from contracts.common import CandidateSource, TrackQuery
from contracts.gateway import MatchListen, RequestTrack, RetryTrack
from contracts.ingest import CandidateDiscovered, ListenRecorded
from infra.runtime import Delivery

from .listens import ListenMatcher, ListenQuery
from .service import Resolver

__all__ = ["Handlers", "ListenHandlers"]

Publish = Callable[[Message], Awaitable[object]]


@contextlib.asynccontextmanager
async def _keep_alive(delivery: Delivery, every_s: float = 30.0) -> AsyncIterator[None]:
    """Waiting for a shared MusicBrainz slot can take long under load: tell the server the work goes on."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every_s)
            await delivery.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Handlers:
    def __init__(self, resolver: Resolver, publish: Publish) -> None:
        self.resolver = resolver
        self.publish = publish

    async def candidate(self, event: CandidateDiscovered, delivery: Delivery) -> None:
        # the artist/title hints are not used: a known MBID is never fuzzy-matched
        query = TrackQuery(recording_mbid=event.recording_mbid)
        async with _keep_alive(delivery):
            outcome = await self.resolver.resolve(query, may_defer=not delivery.is_last_attempt)
        resolved = self.resolver.resolved_event(event, outcome, event.source)
        await self.publish(resolved or self.resolver.unresolved_event(event, outcome, query, event.source))

    async def request(self, event: RequestTrack | RetryTrack, delivery: Delivery) -> None:
        if isinstance(event, RequestTrack) and event.url_only:
            return  # nothing to search with yet: acquire-svc reads the URL, then `inspected` resolves what it says
        rematch = event.rematch_mbid if isinstance(event, RetryTrack) else None
        query = event.query
        if isinstance(event, RetryTrack) and event.recording_mbid and not query.recording_mbid:
            query = query.model_copy(update={"recording_mbid": event.recording_mbid})
        request_id = event.request_id if isinstance(event, RequestTrack) else None
        url = event.url if isinstance(event, RequestTrack) else None
        async with _keep_alive(delivery):
            outcome = await self.resolver.resolve(query, rematch_mbid=rematch, may_defer=not delivery.is_last_attempt)
        origin = CandidateSource.MANUAL
        resolved = self.resolver.resolved_event(event, outcome, origin, request_id=request_id, source_url=url)
        await self.publish(
            resolved or self.resolver.unresolved_event(event, outcome, query, origin, request_id=request_id)
        )

    async def inspected(self, event: UrlInspected, delivery: Delivery) -> None:
        """A URL given alone, with what its file's tags or its page say: resolved like a request by those."""
        async with _keep_alive(delivery):
            outcome = await self.resolver.resolve(event.query)
        origin = CandidateSource.MANUAL
        extra: dict[str, object] = {"request_id": event.request_id}
        resolved = self.resolver.resolved_event(event, outcome, origin, source_url=event.url, **extra)
        await self.publish(resolved or self.resolver.unresolved_event(event, outcome, event.query, origin, **extra))


class ListenHandlers:
    def __init__(self, matcher: ListenMatcher, publish: Publish) -> None:
        self.matcher = matcher
        self.publish = publish

    async def listen(self, event: ListenRecorded | MatchListen, delivery: Delivery) -> None:
        async with _keep_alive(delivery):
            answer = await self.matcher.match(event, ListenQuery.of(event))
        if answer is not None:
            await self.publish(answer)
