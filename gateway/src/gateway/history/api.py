"""`/api/listens`: the listening history, newest first, and the plays still unmatched with their reason."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import QueryParameter
from nats.js.errors import KeyNotFoundError

from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.queries import Scope
from .nowplaying import PlayingNow
from .queries import BadCursor, ListenFilter, PlayOut, plays, unmatched

__all__ = ["SOURCES", "ListensController", "library_links", "parse_time"]

SOURCES = {"listenbrainz", "lastfm", "spotify", "subsonic", "sonos"}


def parse_time(value: str | None, name: str) -> datetime | None:
    """ISO 8601 (a date alone is midnight UTC) or unix seconds."""
    if not value:
        return None
    try:
        if value.replace(".", "", 1).isdigit():
            return datetime.fromtimestamp(float(value), UTC)
        at = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationException(f"{name}: not an ISO 8601 time or unix seconds: {value!r}") from exc
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def library_links(state: State, items: list[PlayOut]) -> None:
    """A play of a recording the library holds links to it (`library_owned`: MBID → track id)."""
    mbids = {p.recording_mbid for p in items if p.recording_mbid}
    if not mbids:
        return
    kv = await state.runtime.js.key_value("library_owned")
    found: dict[str, str] = {}
    for mbid in mbids:
        try:
            entry = await kv.get(mbid)
        except KeyNotFoundError:
            continue
        if entry.value:
            found[mbid] = json.loads(entry.value)["track_id"]
    for p in items:
        p.library_track_id = found.get(p.recording_mbid or "")


class ListensController(Controller):
    path = "/api/listens"
    tags = ["history"]
    dependencies = {"who": Provide(principal)}

    @get(operation_id="listListens", summary="Plays, newest first, with their match and every source that saw them")
    async def listens(
        self,
        who: NamedDependency[Principal],
        state: State,
        start: Annotated[str | None, QueryParameter(name="from", description="ISO 8601 or unix seconds")] = None,
        end: Annotated[str | None, QueryParameter(name="to", description="ISO 8601 or unix seconds, exclusive")] = None,
        source: Annotated[str | None, QueryParameter(max_length=40)] = None,
        q: Annotated[str | None, QueryParameter(max_length=200)] = None,
        user: Annotated[str | None, QueryParameter(description="Administrators: one user's plays only")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=400)] = None,
    ) -> dict[str, Any]:
        if source and source not in SOURCES:
            raise ValidationException(f"source: one of {', '.join(sorted(SOURCES))}")
        if user and not who.is_admin and user != who.username:
            raise PermissionDeniedException("only administrators see other people's plays")
        f = ListenFilter(parse_time(start, "from"), parse_time(end, "to"), source, q, user, limit, cursor)
        conn: sqlite3.Connection = state.history
        try:
            items, next_cursor = await asyncio.to_thread(plays, conn, Scope(who.username, who.is_admin), f)
        except BadCursor as exc:
            raise ValidationException(str(exc)) from exc
        await library_links(state, items)
        return {"items": [asdict(p) for p in items], "next_cursor": next_cursor}

    @get("/unmatched", operation_id="listUnmatchedListens", summary="Plays not matched yet, with the reason")
    async def unmatched(
        self,
        who: NamedDependency[Principal],
        state: State,
        user: Annotated[str | None, QueryParameter(max_length=64)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> dict[str, Any]:
        if user and not who.is_admin and user != who.username:
            raise PermissionDeniedException("only administrators see other people's plays")
        conn: sqlite3.Connection = state.history
        items = await asyncio.to_thread(unmatched, conn, Scope(who.username, who.is_admin), user, limit)
        return {"items": [asdict(p) for p in items]}

    @get("/now-playing", operation_id="getPlayingNow", summary="What ListenBrainz says the user plays right now")
    async def now_playing(
        self,
        who: NamedDependency[Principal],
        state: State,
        user: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> dict[str, Any]:
        if user and not who.is_admin and user != who.username:
            raise PermissionDeniedException("only administrators see other people's plays")
        name = user or who.username
        if state.users.get(name) is None:
            raise ValidationException(f"user: no user {name}")
        now: PlayingNow = state.playing_now
        return {"user": name, **await now.of(name)}
