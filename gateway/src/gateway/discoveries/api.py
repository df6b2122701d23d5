"""`/api/discoveries`: the asking user's discoveries by week, the trash and the rules in force; keep, hate and
restore; the artist exclusion list. A user sees and acts on their own discoveries; administrators may look at
anyone's with `?user=`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, PathParameter, QueryParameter
from pydantic import BaseModel, Field

from ..auth.guard import principal
from ..auth.users import Principal
from .service import MAX_ARTIST, MAX_ARTISTS, Discoveries

__all__ = ["DiscoveriesController"]


class DetailOut(BaseModel):
    detail: str


class ActionOut(BaseModel):
    track_id: str
    requested: str = Field(description="`keep`, `hate` or `restore`: the command sent to library-svc.")
    command_id: str
    was: str = Field(description="The discovery's state when it was asked.")


class ArtistsIn(BaseModel):
    artists: list[Any] = Field(
        description=f"The whole list: display names, at most {MAX_ARTISTS}, each 1 to {MAX_ARTIST} characters."
    )


class ArtistsOut(BaseModel):
    artists: list[str]


TrackId = Annotated[str, PathParameter(min_length=1, max_length=200)]
_ACTION_ERRORS = {
    404: ResponseSpec(DetailOut, description="Not one of the asking user's discoveries."),
    409: ResponseSpec(DetailOut, description="The discovery's state does not allow it (the reason says why)."),
}


class DiscoveriesController(Controller):
    path = "/api/discoveries"
    tags = ["discoveries"]
    dependencies = {"who": Provide(principal)}

    @get(
        operation_id="getDiscoveries",
        summary="The user's discoveries by week (newest first, each in order of arrival), the trash, whether runs "
        "are paused, and the keep and expiry rules in force",
    )
    async def discoveries(
        self,
        who: NamedDependency[Principal],
        state: State,
        user: Annotated[
            str | None, QueryParameter(max_length=64, description="Administrators: another user's discoveries")
        ] = None,
    ) -> dict[str, Any]:
        service: Discoveries = state.discoveries
        return await service.show(who, user)

    @post(
        "/{track_id:str}/keep",
        operation_id="keepDiscovery",
        summary="Keep a discovery: it becomes an ordinary library track",
        status_code=202,
        responses=_ACTION_ERRORS,
    )
    async def keep(self, who: NamedDependency[Principal], state: State, track_id: TrackId) -> ActionOut:
        service: Discoveries = state.discoveries
        return ActionOut(**await service.keep(who, track_id))

    @post(
        "/{track_id:str}/hate",
        operation_id="hateDiscovery",
        summary="Hate a discovery: out of the library at once (to the trash), never offered again, ListenBrainz "
        "feedback -1",
        status_code=202,
        responses=_ACTION_ERRORS,
    )
    async def hate(self, who: NamedDependency[Principal], state: State, track_id: TrackId) -> ActionOut:
        service: Discoveries = state.discoveries
        return ActionOut(**await service.hate(who, track_id))

    @post(
        "/{track_id:str}/restore",
        operation_id="restoreDiscovery",
        summary="Bring a discovery back from the trash (409 once the trash was emptied of it)",
        status_code=202,
        responses=_ACTION_ERRORS,
    )
    async def restore(self, who: NamedDependency[Principal], state: State, track_id: TrackId) -> ActionOut:
        service: Discoveries = state.discoveries
        return ActionOut(**await service.restore(who, track_id))

    @get("/excluded-artists", operation_id="getExcludedArtists", summary="Artists never recommended to the user")
    async def excluded(self, who: NamedDependency[Principal], state: State) -> ArtistsOut:
        service: Discoveries = state.discoveries
        return ArtistsOut(artists=service.excluded_artists(who))

    @put(
        "/excluded-artists",
        operation_id="setExcludedArtists",
        summary="Replace the user's artist exclusion list (the next run leaves those artists out)",
        responses={400: ResponseSpec(DetailOut, description="A blank, too long or malformed name; the reason.")},
    )
    async def set_excluded(
        self, who: NamedDependency[Principal], state: State, data: JSONBody[ArtistsIn]
    ) -> ArtistsOut:
        service: Discoveries = state.discoveries
        return ArtistsOut(artists=await service.set_excluded_artists(who, data.artists))
