"""Recommendation runs: start one now, and see runs, their candidates and CF retrains."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from ..auth.guard import principal
from ..auth.users import Principal
from ..readmodel.queries import Scope, View
from .schemas import RecommendationsOut, RetrainOut, RunOut, StartRunIn

__all__ = ["RunsController"]


class RunsController(Controller):
    path = "/api"
    tags = ["recommendations"]
    dependencies = {"who": Provide(principal)}

    @post("/runs", operation_id="startRun", summary="Start a recommendation run now", status_code=202)
    async def start_run(
        self, who: NamedDependency[Principal], state: State, data: JSONBody[StartRunIn | None] = None
    ) -> dict[str, Any]:
        command_id = await state.gateway.start_run(who, data.user if data else None)
        return {"command_id": str(command_id), "user": (data.user if data and data.user else who.username)}

    @get("/recommendations", operation_id="getRecommendations", summary="Recent runs, their candidates, retrains")
    async def recommendations(self, who: NamedDependency[Principal], state: State) -> RecommendationsOut:
        view: View = state.view
        scope = Scope(who.username, who.is_admin)
        runs = view.runs(scope)
        candidates = view.candidates(scope, [r.run_id for r in runs])
        return RecommendationsOut(
            runs=[RunOut.model_validate(r.model_dump()) for r in runs],
            candidates=[
                {
                    "track_id": c.id,
                    "run_id": c.run_id,
                    "origin": c.origin,
                    "recording_mbid": c.recording_mbid,
                    "artist": c.artist,
                    "title": c.title,
                    "state": c.state,
                }
                for c in candidates
            ],
            retrains=[RetrainOut.model_validate(r.model_dump()) for r in view.retrains(scope)],
        )
