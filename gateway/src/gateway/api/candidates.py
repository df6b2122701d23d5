"""GET /api/requests/candidates: MusicBrainz recordings to choose from before requesting one.

Asked of resolve-svc over `lookup.recordings` (contracts.lookup), so the search spends the stack's one MusicBrainz
budget and shares its cache. No resolve-svc answering within the timeout is a 503 with a reason, never a hang.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ServiceUnavailableException, ValidationException
from litestar.params import QueryParameter
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from contracts.lookup import LOOKUP_SUBJECT, RecordingCandidates, SearchRecordings
from infra.runtime import ServiceRuntime

from ..auth.guard import principal
from ..auth.users import Principal

__all__ = ["CandidatesController"]

_TIMEOUT_S = 15.0
"""Longer than resolve-svc's own limit (12 s), which then answers "unavailable" itself."""
Text = Annotated[str, QueryParameter(min_length=1, max_length=200)]


class CandidatesController(Controller):
    path = "/api/requests/candidates"
    tags = ["requests"]
    dependencies = {"who": Provide(principal)}

    @get(
        operation_id="searchRecordingCandidates",
        summary="MusicBrainz recordings matching artist and title, best first, with release, year and length",
    )
    async def candidates(
        self, who: NamedDependency[Principal], state: State, artist: Text, title: Text
    ) -> RecordingCandidates:
        runtime: ServiceRuntime = state.runtime
        if not artist.strip() or not title.strip():
            raise ValidationException("artist and title must not be blank")
        ask = SearchRecordings(artist=artist.strip(), title=title.strip())
        try:
            msg = await runtime.nc.request(LOOKUP_SUBJECT, ask.model_dump_json().encode(), timeout=_TIMEOUT_S)
        except (NatsTimeout, NoRespondersError) as exc:
            raise ServiceUnavailableException(
                "resolve-svc did not answer: the search is unavailable right now"
            ) from exc
        return RecordingCandidates.model_validate_json(msg.data)
