"""The History page: plays newest first, filtered by date, artist or title, and source; the unmatched with their
reason; and what ListenBrainz says is playing now, refreshed live by app.js."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from ..adapters.library import LibraryUnavailable, NotInLibrary, SubsonicLibrary
from ..auth.guard import optional_principal
from ..auth.users import Principal
from ..readmodel.queries import Scope
from ..ui.pages import Page, _gate, _library_down, _page
from .api import SOURCES, library_links, parse_time
from .queries import BadCursor, ListenFilter, plays, unmatched
from .scrobbling import scrobbling_status

__all__ = ["HistoryPageController"]


class HistoryPageController(Controller):
    include_in_schema = False
    dependencies = {"who": Provide(optional_principal)}

    @get("/history")
    async def history(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        start: Annotated[str, QueryParameter(name="from", max_length=40)] = "",
        end: Annotated[str, QueryParameter(name="to", max_length=40)] = "",
        q: Annotated[str, QueryParameter(max_length=200)] = "",
        source: Annotated[str, QueryParameter(max_length=40)] = "",
        user: Annotated[str, QueryParameter(max_length=64)] = "",
        cursor: Annotated[str, QueryParameter(max_length=400)] = "",
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        scope = Scope(who.username, who.is_admin)
        error = ""
        try:
            until = parse_time(end, "to")
            f = ListenFilter(
                parse_time(start, "from"),
                until + timedelta(days=1) if until and len(end) == 10 else until,  # a date: the whole day
                source if source in SOURCES else None,
                q.strip() or None,
                (user or None) if who.is_admin else None,
                100,
                cursor or None,
            )
        except ValidationException as exc:
            error, f = str(exc.detail), ListenFilter(limit=100)
        conn: sqlite3.Connection = state.history
        try:
            items, next_cursor = await asyncio.to_thread(plays, conn, scope, f)
        except BadCursor as exc:
            error, next_cursor = str(exc), None
            items, _ = await asyncio.to_thread(plays, conn, scope, ListenFilter(limit=100))
        await library_links(state, items)
        missing = await asyncio.to_thread(unmatched, conn, scope, f.user, 50)
        return _page(
            "history.html",
            who,
            items=items,
            next_cursor=next_cursor,
            unmatched=missing,
            sources=sorted(SOURCES),
            f={"from": start, "to": end, "q": q, "source": source, "user": user},
            error=error,
            scrobbling=scrobbling_status(state, who.username),
            lastfm_ready=bool(state.settings.lastfm_api_key and state.settings.lastfm_api_secret),
        )

    @get("/history/library/{track_id:str}")
    async def library_track(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        track_id: Annotated[str, PathParameter(max_length=200)],
    ) -> Page:
        """A play's link to the library: the album page of the song (asked of the upstream only when followed)."""
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        library: SubsonicLibrary = state.library
        try:
            album = await library.album_of_song(who.username, track_id)
        except NotInLibrary:
            album = None
        except LibraryUnavailable as exc:
            return _library_down(who, exc)
        return Redirect(f"/library/albums/{quote(album, safe='')}" if album else "/library")
