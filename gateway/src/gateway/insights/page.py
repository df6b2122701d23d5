"""The Insights page: the shell and the range form; insights.js fetches /api/insights and draws the charts."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Redirect

from ..auth.guard import optional_principal
from ..auth.users import Principal
from ..ui.pages import Page, _gate, _page

__all__ = ["InsightsPageController"]


class InsightsPageController(Controller):
    include_in_schema = False
    dependencies = {"who": Provide(optional_principal)}

    @get("/insights")
    async def insights(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        range: Annotated[str, QueryParameter(max_length=10)] = "week",
        start: Annotated[str, QueryParameter(name="from", max_length=10)] = "",
        end: Annotated[str, QueryParameter(name="to", max_length=10)] = "",
        user: Annotated[str, QueryParameter(max_length=64)] = "",
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        f = {"range": range, "from": start, "to": end, "user": user if who.is_admin else ""}
        return _page("insights.html", who, f=f, ranges=["week", "month", "year", "all", "custom"])
