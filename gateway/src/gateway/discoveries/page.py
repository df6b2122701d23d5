"""The Discoveries page: the shell, the artist exclusion list and the admin's user picker; discoveries.js fetches
/api/discoveries, draws the weeks and the trash, and sends Keep, Hate and Restore."""

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
from .service import Discoveries

__all__ = ["DiscoveriesPageController"]


class DiscoveriesPageController(Controller):
    include_in_schema = False
    dependencies = {"who": Provide(optional_principal)}

    @get("/discoveries")
    async def discoveries(
        self,
        who: NamedDependency[Principal | None],
        state: State,
        user: Annotated[str, QueryParameter(max_length=64, pattern=r"^[A-Za-z0-9_-]{0,64}$")] = "",
    ) -> Page:
        if (go := _gate(who, state)) or who is None:
            return go or Redirect("/login")
        service: Discoveries = state.discoveries
        target = user if (user and who.is_admin) else who.username
        return _page(
            "discoveries.html",
            who,
            target=target,
            own=target == who.username,
            excluded=service.excluded_artists(who),
            users=[u.username for u in state.users.all()] if who.is_admin else [],
        )
