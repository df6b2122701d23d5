"""Server-rendered pages of the web UI; actions go through the REST API from app.js."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.datastructures import CacheControlHeader, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from contracts.health import HealthReport
from infra.runtime import ServiceRuntime, collect_health

from ..adapters.library import ALBUM_ORDERS, LibraryUnavailable, NotInLibrary
from ..auth.guard import optional_principal
from ..auth.users import Principal
from ..browse import SORTS, LibraryBrowser
from ..readmodel.queries import Scope, View
from ..readmodel.rows import TrackRow
from ..readmodel.steps import STAGES

__all__ = ["UI_CONTROLLERS"]

log = logging.getLogger(__name__)

Page = Template | Redirect
_ALBUMS_PER_PAGE = 48
_ARTISTS_PER_PAGE = 200
_FAVICON = Path(__file__).parent / "static" / "favicon.svg"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _gate(who: Principal | None, state: State) -> Redirect | None:
    if who is not None:
        return None
    return Redirect("/setup" if state.users.count() == 0 else "/login")


def _page(name: str, who: Principal, **context: Any) -> Template:
    return Template(name, context={"me": who, "csrf": who.csrf or "", **context})


def _library_down(who: Principal, exc: LibraryUnavailable, q: str = "") -> Template:
    return Template(
        "library.html",
        context={"me": who, "csrf": who.csrf or "", "view": "down", "q": q, "error": str(exc)},
        status_code=exc.status,
    )


async def _settings_in_force(state: State) -> dict[str, Any]:
    """The values each service runs with now (its `settings` health check): live ones, else its environment's."""
    runtime: ServiceRuntime = state.runtime
    reports = await collect_health(
        runtime.nc, ("ingest-svc", "acquire-svc", "library-svc"), timeout=state.settings.health_timeout_s
    )
    values: dict[str, Any] = {}
    for report in reports.values():
        found = (report.get("checks") or {}).get("settings")
        if isinstance(found, dict):
            values |= {k: v for k, v in found.items() if k != "status"}
    return values


class PagesController(Controller):
    include_in_schema = False
    dependencies = {"who": Provide(optional_principal)}

    @get("/favicon.ico", media_type="image/svg+xml", cache_control=CacheControlHeader(max_age=86400))
    async def favicon(self) -> bytes:
        return _FAVICON.read_bytes()

    @get("/login")
    async def login(self, who: NamedDependency[Principal | None], state: State) -> Page:
        if state.users.count() == 0:
            return Redirect("/setup")
        return Template("login.html", context={"me": None, "csrf": ""})

    @get("/setup")
    async def setup(self, who: NamedDependency[Principal | None], state: State) -> Page:
        if state.users.count() > 0:
            return Redirect("/login")
        return Template("setup.html", context={"me": None, "csrf": ""})

    @get("/")
    async def dashboard(self, who: NamedDependency[Principal | None], state: State) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        view: View = state.view
        scope = Scope(who.username, who.is_admin)
        failures = view.tracks(scope, state="failed").items[:20]
        health: HealthReport = await state.runtime.health()
        return _page(
            "dashboard.html",
            who,
            stages=[*STAGES, "retrying", "failed", "skipped", "removed"],
            counts=view.counts(scope),
            runs=view.runs(scope, limit=5),
            failures=failures,
            recent=view.tracks(scope).items[:15],
            health=health,
        )

    @get("/request")
    async def request_form(self, who: NamedDependency[Principal | None], state: State) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        return _page("request.html", who)

    @get("/tracks")
    async def tracks(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        track_state: Annotated[str | None, QueryParameter(name="state")] = None,
        q: FromQuery[str | None] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        result = state.view.tracks(Scope(who.username, who.is_admin), state=track_state, q=q, page=max(1, page))
        return _page("tracks.html", who, result=result, state_filter=track_state or "", q=q or "")

    @get("/tracks/{track_id:str}")
    async def track(self, who: NamedDependency[Principal | None], track_id: FromPath[str], state: State) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        view: View = state.view
        row = view.track(Scope(who.username, who.is_admin), track_id)
        if row is None:
            # a request just made is on its way through NATS to the read model: show the page, the live feed fills
            # it. Any other unknown id is simply not there.
            if not (_UUID.fullmatch(track_id) and state.gateway.requested_lately(track_id)):
                raise NotFoundException(f"no track {track_id}")
            now = datetime.now(UTC)
            waiting = TrackRow(id=track_id, state="waiting", created_at=now, updated_at=now)
            return _page("track.html", who, track=waiting, timeline=[], stages=STAGES)
        return _page("track.html", who, track=row, timeline=view.timelines([row.id])[row.id], stages=STAGES)

    @get("/library")
    async def library(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        order: FromQuery[str] = "name",
        genre: Annotated[str, QueryParameter(max_length=200)] = "",
        year_text: Annotated[str, QueryParameter(name="year", max_length=4, pattern=r"^\d*$")] = "",
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        browser: LibraryBrowser = state.browser
        scope = Scope(who.username, who.is_admin)
        order = order if order in SORTS or order in ALBUM_ORDERS else "name"
        year = int(year_text) if year_text else None  # the form sends an empty year for "any"
        try:
            if q.strip():
                found = await browser.search(scope, q.strip(), 30)
                return _page("library.html", who, view="search", q=q, found=found, source=found.source)
            offset = (page - 1) * _ALBUMS_PER_PAGE
            albums = await browser.albums(scope, order, offset, _ALBUMS_PER_PAGE, genre=genre or None, year=year)
        except LibraryUnavailable as exc:
            return _library_down(who, exc, q=q)
        try:
            totals = await browser.totals(scope)
        except LibraryUnavailable as exc:  # the albums are there: show them without the counts
            log.warning("library totals unavailable: %s", exc)
            totals = None
        filters = urlencode({"order": order, **({"genre": genre} if genre else {}), **({"year": year} if year else {})})
        return _page(
            "library.html",
            who,
            view="albums",
            q="",
            albums=albums,
            page=page,
            order=order,
            genre=genre,
            year=year,
            filters=filters,
            totals=totals,
            source=albums.source,
        )

    @get("/library/artists")
    async def library_artists(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        browser: LibraryBrowser = state.browser
        try:
            artists = await browser.artists(
                Scope(who.username, who.is_admin), (page - 1) * _ARTISTS_PER_PAGE, _ARTISTS_PER_PAGE
            )
        except LibraryUnavailable as exc:
            return _library_down(who, exc)
        pages = max(1, -(-artists.total // _ARTISTS_PER_PAGE))
        return _page(
            "library.html", who, view="artists", q="", artists=artists, page=page, pages=pages, source=artists.source
        )

    @get("/library/artists/{artist_id:str}")
    async def library_artist(
        self, who: NamedDependency[Principal | None], state: State, artist_id: FromPath[str]
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        browser: LibraryBrowser = state.browser
        try:
            found = await browser.artist(Scope(who.username, who.is_admin), artist_id)
        except LibraryUnavailable as exc:
            return _library_down(who, exc)
        except NotInLibrary as exc:
            raise NotFoundException(f"no artist {artist_id}") from exc
        return _page("library.html", who, view="artist", q="", found=found, source=found.source)

    @get("/library/albums/{album_id:str}")
    async def library_album(
        self, who: NamedDependency[Principal | None], state: State, album_id: FromPath[str]
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        browser: LibraryBrowser = state.browser
        try:
            album = await browser.album(Scope(who.username, who.is_admin), album_id)
        except LibraryUnavailable as exc:
            return _library_down(who, exc)
        except NotInLibrary as exc:
            raise NotFoundException(f"no album {album_id}") from exc
        return _page("library.html", who, view="album", q="", album=album, source=album.source)

    @get("/settings")
    async def settings(
        self, who: NamedDependency[Principal | None], state: State, request: Request[Any, Any, Any]
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        pipeline = await state.gateway.settings.pipeline()
        tokens = state.users.tokens(who.username)
        in_force = await _settings_in_force(state) if who.is_admin else {}
        return _page(
            "settings.html",
            who,
            pipeline=pipeline,
            in_force=in_force,
            tokens=tokens,
            subsonic_url=str(request.base_url).rstrip("/"),
            navidrome_env=state.settings.navidrome_url,
        )

    @get("/users")
    async def users(
        self, who: NamedDependency[Principal | None], state: State, request: Request[Any, Any, Any]
    ) -> Page | Response[str]:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        if not who.is_admin:
            return Response("administrators only", status_code=403)
        from ..api.users import user_out

        return _page("users.html", who, users=[user_out(state.users, r) for r in state.users.all()])


UI_CONTROLLERS = [PagesController]
