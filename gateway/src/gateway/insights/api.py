"""`/api/insights`: a person's listening over a range, its written summary, and their time zone."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import JSONBody, QueryParameter
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session

from ..auth.guard import principal
from ..auth.rows import InsightPrefRow
from ..auth.users import Principal
from .compute import compute, play_days
from .hitrate import acquired, hit_rate
from .ranges import RANGES, RangeError, resolve_range
from .schemas import InsightsOut
from .summary import Summarizer, facts_of, templated

__all__ = ["InsightsController", "Prefs", "TimezoneController", "build", "server_zone"]


def server_zone(configured: str | None) -> ZoneInfo:
    """BRAINSTREAM_TIMEZONE, else TZ, else the system's zone (/etc/timezone, /etc/localtime), else UTC."""
    for name in (configured, os.environ.get("TZ", "").lstrip(":")):
        if name:
            return ZoneInfo(name)
    try:
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return ZoneInfo(name)
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass  # no such file, or a name this zone database lacks: try the next way
    try:
        link = os.readlink("/etc/localtime")
        return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (OSError, IndexError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Prefs:
    """Per-user insight settings (the time zone), in the accounts database every gateway replica shares.

    `legacy`: the history file that held them before; its rows are taken over once, where the user has none."""

    def __init__(self, engine: Engine, default: ZoneInfo, legacy: sqlite3.Connection | None = None) -> None:
        self.engine, self.default = engine, default
        if legacy is not None:
            self._take_over(legacy)

    def _take_over(self, legacy: sqlite3.Connection) -> None:
        found = legacy.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'insight_prefs'")
        if found.fetchone() is None:
            return
        with Session(self.engine) as s:
            for user, zone in legacy.execute("SELECT user, timezone FROM insight_prefs").fetchall():
                if s.get(InsightPrefRow, user) is None:
                    s.add(InsightPrefRow(username=user, timezone=zone))
            s.commit()
        legacy.execute("DROP TABLE insight_prefs")

    def zone(self, user: str) -> ZoneInfo:
        with Session(self.engine) as s:
            row = s.get(InsightPrefRow, user)
        return ZoneInfo(row.timezone) if row else self.default

    def set_zone(self, user: str, name: str | None) -> None:
        with Session(self.engine) as s:
            row = s.get(InsightPrefRow, user)
            if name is None:
                if row is not None:
                    s.delete(row)
            elif row is None:
                s.add(InsightPrefRow(username=user, timezone=name))
            else:
                row.timezone = name
                s.add(row)
            s.commit()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationException(f"timezone: not an IANA time zone name: {name!r}") from exc


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationException(f"{name}: a date YYYY-MM-DD in your time zone, got {value!r}") from exc


def _who_for(who: Principal, state: State, user: str | None) -> str:
    if user and not who.is_admin and user != who.username:
        raise PermissionDeniedException("user: only administrators see other people's insights")
    name = user or who.username
    if state.users.get(name) is None:
        raise ValidationException(f"user: no user {name}")
    return name


def build(
    state: State, name: str, kind: str, start: str | None, end: str | None, by: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """Everything the page shows, for one user and range (run in a worker thread)."""
    conn: sqlite3.Connection = state.history
    prefs: Prefs = state.insight_prefs
    tz = prefs.zone(name)
    now = now or datetime.now(UTC)
    first, last = play_days(conn, name, tz)
    try:
        rng = resolve_range(kind, now.astimezone(tz).date(), tz, first, _day(start, "from"), _day(end, "to"), last)
    except RangeError as exc:
        raise ValidationException(str(exc)) from exc
    out: dict[str, Any] = {
        "user": name,
        "timezone": tz.key,
        "range": {
            "kind": kind,
            "key": rng.key,
            "from": rng.start.isoformat(),
            "to": rng.end.isoformat(),
            "to_exclusive": True,
            "previous": (
                {"from": rng.prev_start_day.isoformat(), "to": rng.prev_end_day.isoformat()}
                if rng.prev_start_day and rng.prev_end_day
                else None
            ),
        },
        **compute(conn, name, rng, by),
    }
    tracks = acquired(state.view_engine, name, rng.start.timestamp(), rng.end.timestamp())
    out["hit_rate"] = hit_rate(conn, name, tracks, now)
    facts = facts_of(out)
    out["summary"] = {"facts": facts, "text": templated(facts)}
    return out


_RangeParam = Annotated[str, QueryParameter(description=f"one of {', '.join(RANGES)}", max_length=10)]
_From = Annotated[str | None, QueryParameter(name="from", description="custom: first day, YYYY-MM-DD", max_length=10)]
_To = Annotated[str | None, QueryParameter(name="to", description="custom: last day (included)", max_length=10)]
_User = Annotated[str | None, QueryParameter(description="Administrators: another user's insights", max_length=64)]
_By = Annotated[str | None, QueryParameter(description="trend buckets: day, week or month", max_length=5)]


class InsightsController(Controller):
    path = "/api/insights"
    tags = ["insights"]
    dependencies = {"who": Provide(principal)}

    @get(
        operation_id="getInsights",
        summary="Top artists, tracks and albums, trends, listening clock, sources, discovery and the pipeline's "
        "hit rate over a range, with the range's exact bounds in the user's time zone",
    )
    async def insights(
        self,
        who: NamedDependency[Principal],
        state: State,
        range: _RangeParam = "week",
        start: _From = None,
        end: _To = None,
        user: _User = None,
        by: _By = None,
    ) -> Response[InsightsOut]:
        if by and by not in ("day", "week", "month"):
            raise ValidationException("by: one of day, week, month")
        name = _who_for(who, state, user)
        data = await asyncio.to_thread(build, state, name, range, start, end, by)
        # checked against the documented shape, sent with its field names ("from", "to")
        return Response(InsightsOut.model_validate(data).model_dump(mode="json"))  # type: ignore[arg-type]

    @get("/summary", operation_id="getInsightsSummary", summary="The range's written summary: facts now, prose later")
    async def summary(
        self,
        who: NamedDependency[Principal],
        state: State,
        range: _RangeParam = "week",
        start: _From = None,
        end: _To = None,
        user: _User = None,
    ) -> dict[str, Any]:
        return await self._summary(who, state, range, start, end, user, again=False)

    @post(
        "/summary",
        operation_id="writeInsightsSummary",
        summary="Write the range's prose again (with an LLM configured)",
        status_code=202,
    )
    async def write_again(
        self,
        who: NamedDependency[Principal],
        state: State,
        range: _RangeParam = "week",
        start: _From = None,
        end: _To = None,
        user: _User = None,
    ) -> dict[str, Any]:
        return await self._summary(who, state, range, start, end, user, again=True)

    async def _summary(
        self,
        who: Principal,
        state: State,
        kind: str,
        start: str | None,
        end: str | None,
        user: str | None,
        *,
        again: bool,
    ) -> dict[str, Any]:
        name = _who_for(who, state, user)
        data = await asyncio.to_thread(build, state, name, kind, start, end, None)
        facts = data["summary"]["facts"]
        writer: Summarizer = state.summarizer
        stored = await writer.ensure(name, data["range"]["key"], facts, again=again)
        return {
            "range": data["range"],
            "facts": facts,
            "text": data["summary"]["text"],
            "llm": {
                "configured": writer.configured,
                "state": stored["state"] if stored else None,
                "prose": stored["prose"] if stored else None,
                "reason": stored["reason"] if stored else None,
                "model": stored["model"] if stored else None,
                "written_from": stored["facts"] if stored else None,
            },
        }


class TimezoneIn(BaseModel):
    timezone: str | None = Field(default=None, max_length=64, description="IANA name; null: the server's zone")


class TimezoneController(Controller):
    path = "/api/me/timezone"
    tags = ["insights"]
    dependencies = {"who": Provide(principal)}

    @get(operation_id="getTimezone", summary="The time zone insights use for you")
    async def get_zone(self, who: NamedDependency[Principal], state: State) -> dict[str, Any]:
        prefs: Prefs = state.insight_prefs
        zone = await asyncio.to_thread(prefs.zone, who.username)
        return {"timezone": zone.key, "server_default": prefs.default.key}

    @put(operation_id="setTimezone", summary="Set the time zone insights use for you", status_code=200)
    async def set_zone(
        self, who: NamedDependency[Principal], state: State, data: JSONBody[TimezoneIn]
    ) -> dict[str, Any]:
        prefs: Prefs = state.insight_prefs
        if data.timezone is not None:
            _zone(data.timezone)
        await asyncio.to_thread(prefs.set_zone, who.username, data.timezone)
        zone = await asyncio.to_thread(prefs.zone, who.username)
        return {"timezone": zone.key, "server_default": prefs.default.key}
