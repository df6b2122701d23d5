"""Manual requests and the pipeline's tracks, each with its state, timeline and failure reason."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from contracts.common import TrackQuery

from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.queries import Scope, View, letter_ids
from ..readmodel.rows import TimelineRow, TrackRow
from ..service import Gateway
from .schemas import (
    RemovalOut,
    RequestIn,
    RequestOut,
    RetryIn,
    RetryOut,
    TimelineEntryOut,
    TrackOut,
    TrackPageOut,
)

__all__ = ["RequestsController", "TracksController", "track_out"]


_INTERNAL = {"request_id", "run_id", "query_json", "retry_stage", "retry_attempt", "retry_limit", "retry_at"}


def track_out(row: TrackRow, timeline: list[TimelineRow]) -> TrackOut:
    retry = None
    if row.state == "retrying":
        retry = RetryOut(
            stage=row.retry_stage,
            attempt=row.retry_attempt,
            limit=row.retry_limit,
            next_attempt_at=row.retry_at,
            error=row.last_error,
        )
    return TrackOut(
        **row.model_dump(exclude=_INTERNAL | {"dead_letters"}),
        retry=retry,
        dead_letters=letter_ids(row),
        timeline=[
            TimelineEntryOut(stage=t.stage, subject=t.subject, at=t.at, detail=t.detail, stream=t.stream, seq=t.seq)
            for t in timeline
        ],
    )


class RequestsController(Controller):
    path = "/api/requests"
    tags = ["requests"]
    dependencies = {"who": Provide(principal)}

    @post(
        operation_id="requestTrack",
        summary="Ask for a track by recording MBID, artist + title (+ album) or URL",
        status_code=202,
        responses={},
    )
    async def request_track(
        self, who: NamedDependency[Principal], data: JSONBody[RequestIn], state: State
    ) -> Response[RequestOut]:
        gateway: Gateway = state.gateway
        query = TrackQuery(recording_mbid=data.recording_mbid, artist=data.artist, title=data.title, album=data.album)
        record = await gateway.request_track(who, query, data.url)
        return Response(RequestOut.model_validate(record), status_code=202)


class TracksController(Controller):
    path = "/api/tracks"
    tags = ["tracks"]
    dependencies = {"who": Provide(principal)}

    @get(operation_id="listTracks", summary="Tracks with state, timeline and failure reason; newest first")
    async def list_tracks(
        self,
        who: NamedDependency[Principal],
        state: State,
        track_state: Annotated[str | None, QueryParameter(name="state", max_length=40)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> TrackPageOut:
        view: View = state.view
        result = view.tracks(Scope(who.username, who.is_admin), state=track_state, q=q, page=page)
        timelines = view.timelines([t.id for t in result.items])
        return TrackPageOut(
            items=[track_out(t, timelines[t.id]) for t in result.items],
            total=result.total,
            page=result.page,
            pages=result.pages,
        )

    @get("/counts", operation_id="countTracks", summary="Tracks per state")
    async def counts(self, who: NamedDependency[Principal], state: State) -> dict[str, int]:
        counts: dict[str, int] = state.view.counts(Scope(who.username, who.is_admin))
        return counts

    @get("/{track_id:str}", operation_id="getTrack", summary="One track with its full timeline")
    async def get_track(self, who: NamedDependency[Principal], track_id: FromPath[str], state: State) -> TrackOut:
        view: View = state.view
        row = view.track(Scope(who.username, who.is_admin), track_id)
        if row is None:
            raise NotFoundException(f"no track {track_id}")
        return track_out(row, view.timelines([row.id])[row.id])

    @post(
        "/{track_id:str}/retry",
        operation_id="retryTrack",
        summary="Retry a failed track (re-driving its dead letters when it has any), or rematch it",
        status_code=202,
    )
    async def retry(
        self,
        who: NamedDependency[Principal],
        track_id: FromPath[str],
        state: State,
        data: JSONBody[RetryIn | None] = None,
    ) -> dict[str, Any]:
        rematch: UUID | None = data.rematch_mbid if data else None
        action = await state.gateway.retry(who, track_id, rematch)
        return {"track_id": track_id, "rematch_mbid": str(rematch) if rematch else None, "action": action}

    @delete("/{track_id:str}", operation_id="removeTrack", summary="Remove a track from the library", status_code=202)
    async def remove(self, who: NamedDependency[Principal], track_id: FromPath[str], state: State) -> RemovalOut:
        library_id = await state.gateway.remove(who, track_id)
        return RemovalOut(track_id=track_id, library_track_id=library_id)
