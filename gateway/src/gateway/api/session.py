"""Logging in and out, the first-run setup, and what a person manages about themselves."""

from __future__ import annotations

import functools
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.params import FromPath, JSONBody

from ..auth.guard import SESSION_COOKIE, principal
from ..auth.limiter import GuessLimiter, PasswordSlots, retry_after
from ..auth.users import Principal, Users
from .schemas import LoginIn, MeOut, SetupIn, SubsonicPasswordOut, TokenIn, TokenOut

__all__ = ["MeController", "SessionController"]


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "?"


def _session_response(state: State, username: str, is_admin: bool) -> Response[MeOut]:
    users: Users = state.users
    cookie, csrf = users.open_session(username)
    return Response(
        MeOut(username=username, is_admin=is_admin, csrf_token=csrf),
        cookies=[
            Cookie(
                key=SESSION_COOKIE,
                value=cookie,
                httponly=True,
                samesite="lax",
                secure=state.settings.cookie_secure,
                max_age=int(state.settings.session_days * 86400),
                path="/",
            )
        ],
    )


class SessionController(Controller):
    path = "/api"
    tags = ["session"]

    @post("/login", operation_id="login", summary="Log in; sets the session cookie and returns the CSRF token")
    async def login(self, data: JSONBody[LoginIn], request: Request[Any, Any, Any], state: State) -> Response[MeOut]:
        limiter: GuessLimiter = state.guess_limiter
        slots: PasswordSlots = state.password_slots
        guess = limiter.try_guess(_client(request), data.username)
        if isinstance(guess, float):
            raise TooManyRequestsException(
                "too many wrong passwords: slow down", headers={"Retry-After": retry_after(guess)}
            )
        try:
            row = await slots.run(state.users.check_password, data.username, data.password)
        except BaseException:
            guess.took_back()  # never checked: not a guess
            raise
        if row is None:
            raise NotAuthorizedException("wrong user name or password")
        guess.took_back()
        return _session_response(state, row.username, row.is_admin)

    @post("/logout", operation_id="logout", summary="End this session", status_code=204)
    async def logout(self, request: Request[Any, Any, Any], state: State) -> Response[None]:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            state.users.close_session(cookie)
        return Response(None, status_code=204, cookies=[Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/")])

    @post("/setup", operation_id="setupFirstAdmin", summary="Create the first administrator (only while none exists)")
    async def setup(self, data: JSONBody[SetupIn], state: State) -> Response[MeOut]:
        users: Users = state.users
        async with state.setup_lock:
            if users.count() > 0:
                raise PermissionDeniedException("setup is done: an administrator exists")
            slots: PasswordSlots = state.password_slots
            row = await slots.run(functools.partial(users.create, data.username, data.password, is_admin=True))
        await state.gateway.settings.put_accounts(users.accounts(row.username))
        return _session_response(state, row.username, True)


class MeController(Controller):
    path = "/api/me"
    tags = ["me"]
    dependencies = {"who": Provide(principal)}

    @get(operation_id="getMe", summary="Who I am (and my CSRF token when logged in by cookie)")
    async def me(self, who: NamedDependency[Principal]) -> MeOut:
        return MeOut(username=who.username, is_admin=who.is_admin, csrf_token=who.csrf)

    @get("/subsonic-password", operation_id="getSubsonicPassword", summary="My Subsonic app-password")
    async def subsonic_password(self, who: NamedDependency[Principal], state: State) -> SubsonicPasswordOut:
        password = state.users.app_password(who.username)
        if password is None:
            raise NotFoundException("no app-password")
        return SubsonicPasswordOut(username=who.username, password=password)

    @post("/subsonic-password", operation_id="rotateSubsonicPassword", summary="Replace my Subsonic app-password")
    async def rotate(self, who: NamedDependency[Principal], state: State) -> SubsonicPasswordOut:
        return SubsonicPasswordOut(username=who.username, password=state.users.rotate_app_password(who.username))

    @get("/tokens", operation_id="listApiTokens", summary="My API tokens (without their secrets)")
    async def tokens(self, who: NamedDependency[Principal], state: State) -> list[TokenOut]:
        return [TokenOut(id=t.id, name=t.name, created_at=t.created_at) for t in state.users.tokens(who.username)]

    @post("/tokens", operation_id="createApiToken", summary="A new API token for scripts (shown once)")
    async def create_token(self, who: NamedDependency[Principal], data: JSONBody[TokenIn], state: State) -> TokenOut:
        row, plain = state.users.create_token(who.username, data.name)
        return TokenOut(id=row.id, name=row.name, created_at=row.created_at, token=plain)

    @delete("/tokens/{token_id:str}", operation_id="deleteApiToken", summary="Revoke an API token")
    async def delete_token(self, who: NamedDependency[Principal], token_id: FromPath[str], state: State) -> None:
        if not state.users.delete_token(who.username, token_id):
            raise NotFoundException("no such token")
