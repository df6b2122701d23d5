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

from contracts.discovery import DiscoveryRules

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


class PickOut(BaseModel):
    track_id: str = Field(description="The library's track id (the built-in server's song id).")
    recording_mbid: str
    week: str = Field(description="ISO week of the playlist it is in: `2026-W49`.")
    weeks: list[str] = Field(description="Every week of the user's it is in.")
    position: int = Field(description="Order of arrival within the week.")
    artist: str
    title: str
    album: str | None
    source: str = Field(description="Why it was picked: `cf`, `radio` or `playlists`.")
    source_label: str
    added_at: str | None
    expires_at: str | None = Field(description="While active: when it expires unless kept.")
    state: str = Field(description="`active`, `kept`, `expired` (in the trash), `restored` or `purged`.")
    state_at: str | None
    reason: str | None = Field(description="Why it was kept or expired: `played`, `starred`, `unkept`, `hated`…")
    detail: str
    purge_at: str | None = Field(description="While in the trash: when the trash is emptied of it.")
    plays: int = Field(description="Plays of its recording by the user since it arrived (listening history).")
    played: bool
    hated: bool
    size_bytes: int
    cover_url: str
    stream_url: str = Field(description="Its audio for the browser, signed in as the user.")
    navidrome_song_id: str | None


class WeekOut(BaseModel):
    week: str
    playlist: str = Field(description="The playlist's name in the user's Subsonic apps.")
    picks: list[PickOut]


class PausedOut(BaseModel):
    reason: str
    used_bytes: int
    budget_bytes: int
    since: str | None


class FeedbackOut(BaseModel):
    kind: str = Field(description="`sent` to ListenBrainz, `received` from it, or a candidate `excluded` from a run.")
    recording_mbid: str
    score: int | None
    cause: str
    artist: str | None
    at: str | None


class MirrorOut(BaseModel):
    state: str = Field(description="`synced`, `waiting` (not scanned by Navidrome yet), `no_account` or `failed`.")
    detail: str
    at: str
    playlists: dict[str, int]


class DiscoveriesOut(BaseModel):
    user: str
    now: str
    rules: DiscoveryRules = Field(description="In force for this user: their own, else the pipeline's, else defaults.")
    paused: PausedOut | None = Field(description="Runs wait for the disk budget, and why; null when they run.")
    weeks: list[WeekOut] = Field(description="Newest first; each week's picks in order of arrival.")
    trash: list[PickOut] = Field(description="Expired picks that can still be restored, soonest emptied first.")
    feedback: list[FeedbackOut]
    navidrome: MirrorOut | None = Field(
        description="With Navidrome serving /rest: the last round of the user's discovery playlists there."
    )


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
    ) -> DiscoveriesOut:
        service: Discoveries = state.discoveries
        return DiscoveriesOut.model_validate(await service.show(who, user))

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
