"""Sending plays on: each person's switches, and connecting Last.fm by its web auth flow.

Connect: `/api/me/lastfm/connect` sends the browser to Last.fm's auth page with a callback that carries a `state`
bound to this session; Last.fm sends it back with a token, which `auth.getSession` (signed with the shared secret)
turns into a session key. The key is a secret: sealed at rest in the gateway's database with the users' other
accounts, handed to ingest-svc in the `settings` bucket like the ListenBrainz token, never logged or shown.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, delete, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect
from pydantic import BaseModel, ConfigDict

from infra.http import ApiClient, ExternalError

from ..auth.guard import principal
from ..auth.users import Principal
from ..settings import Settings

__all__ = ["ForwardingIn", "ScrobblingController", "lastfm_session", "scrobbling_status"]


class ForwardingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listenbrainz: bool | None = None
    lastfm: bool | None = None


def _state(who: Principal, secret: bytes) -> str:
    return hmac.new(secret, f"lastfm:{who.username}:{who.csrf}".encode(), hashlib.sha256).hexdigest()[:32]


def _sig(params: dict[str, str], secret: str) -> str:
    text = "".join(k + params[k] for k in sorted(params) if k not in ("format", "callback")) + secret
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


async def lastfm_session(client: ApiClient, api_key: str, secret: str, token: str) -> tuple[str, str]:
    """`auth.getSession`: (user name, session key) for a token Last.fm handed back to the callback."""
    params = {"method": "auth.getSession", "api_key": api_key, "token": token}
    params |= {"api_sig": _sig(params, secret), "format": "json"}
    body = await client.get_json("/", params)
    session = (body or {}).get("session") or {}
    if not session.get("key") or not session.get("name"):
        raise ValidationException(f"Last.fm did not give a session: {str((body or {}).get('message', ''))[:200]}")
    return str(session["name"]), str(session["key"])


def scrobbling_status(state: State, username: str) -> dict[str, Any]:
    acc = state.users.accounts(username)
    return {
        "listenbrainz": {"on": acc.forward_listenbrainz, "connected": bool(acc.listenbrainz_token)},
        "lastfm": {"on": acc.forward_lastfm, "connected": bool(acc.lastfm_session_key), "user": acc.lastfm_user},
    }


class ScrobblingController(Controller):
    path = "/api/me"
    tags = ["history"]
    dependencies = {"who": Provide(principal)}

    @get("/scrobbling", operation_id="getScrobbling", summary="Where my plays from Subsonic apps are sent on")
    async def status(self, who: NamedDependency[Principal], state: State) -> dict[str, Any]:
        return scrobbling_status(state, who.username)

    @put("/scrobbling", operation_id="setScrobbling", summary="Switch sending my plays on, per service")
    async def switch(
        self, who: NamedDependency[Principal], state: State, data: JSONBody[ForwardingIn]
    ) -> dict[str, Any]:
        changes = {f"forward_{k}": v for k, v in data.model_dump(exclude_none=True).items()}
        await state.gateway.set_accounts(who, who.username, changes)
        return scrobbling_status(state, who.username)

    @get("/lastfm/connect", operation_id="connectLastfm", summary="Go to Last.fm to let BrainStream scrobble")
    async def connect(self, who: NamedDependency[Principal], state: State, request: Request[Any, Any, Any]) -> Redirect:
        settings: Settings = state.settings
        if not (settings.lastfm_api_key and settings.lastfm_api_secret):
            raise ValidationException("Last.fm is not set up: BRAINSTREAM_LASTFM_API_KEY and _SECRET are missing")
        callback = str(request.url_for("lastfm_callback")) + "?" + urlencode({"state": _state(who, state.state_key)})
        return Redirect(
            settings.lastfm_auth_url + "?" + urlencode({"api_key": settings.lastfm_api_key, "cb": callback})
        )

    @get("/lastfm/callback", name="lastfm_callback", operation_id="lastfmCallback", summary="Last.fm's way back")
    async def callback(
        self,
        who: NamedDependency[Principal],
        state: State,
        token: Annotated[str, QueryParameter(min_length=1, max_length=200)],
        state_: Annotated[str, QueryParameter(name="state", max_length=100)] = "",
    ) -> Redirect:
        if not hmac.compare_digest(state_.encode(), _state(who, state.state_key).encode()):
            raise ValidationException("this Last.fm answer was not asked for by this session; connect again")
        settings: Settings = state.settings
        if not (settings.lastfm_api_key and settings.lastfm_api_secret):
            raise ValidationException("Last.fm is not set up: BRAINSTREAM_LASTFM_API_KEY and _SECRET are missing")
        try:
            name, key = await lastfm_session(state.lastfm, settings.lastfm_api_key, settings.lastfm_api_secret, token)
        except ExternalError as exc:
            raise ValidationException(f"Last.fm refused the connection ({exc.reason}); connect again") from exc
        await state.gateway.set_accounts(who, who.username, {"lastfm_user": name, "lastfm_session_key": key})
        return Redirect("/history?lastfm=connected")

    @delete("/lastfm", operation_id="disconnectLastfm", summary="Forget my Last.fm session key", status_code=204)
    async def disconnect(self, who: NamedDependency[Principal], state: State) -> None:
        await state.gateway.set_accounts(who, who.username, {"lastfm_session_key": None})
