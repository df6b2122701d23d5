"""People and their accounts at the listening services (administrators only)."""

from __future__ import annotations

import functools
from typing import Any

from litestar import Controller, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from ..auth.guard import admin_principal
from ..auth.limiter import PasswordSlots
from ..auth.rows import UserRow
from ..auth.users import Principal, UserError, Users
from ..service import Gateway, Invalid
from .schemas import AccountsIn, UserIn, UserOut, UserPatchIn

__all__ = ["UsersController", "account_changes", "user_out"]


def user_out(users: Users, row: UserRow) -> UserOut:
    acc = users.accounts(row.username)
    return UserOut(
        username=row.username,
        is_admin=row.is_admin,
        enabled=row.enabled,
        created_at=row.created_at,
        listenbrainz_user=acc.listenbrainz_user,
        lastfm_user=acc.lastfm_user,
        spotify_client_id=acc.spotify_client_id,
        has_listenbrainz_token=bool(acc.listenbrainz_token),
        has_spotify_secret=bool(acc.spotify_client_secret or acc.spotify_refresh_token),
        navidrome_user=acc.navidrome_user,
        has_navidrome_password=bool(acc.navidrome_password_sealed),
    )


def account_changes(users: Users, data: AccountsIn | None) -> dict[str, Any]:
    """The fields given, with the Navidrome password sealed (an empty one clears it; an empty user too)."""
    if data is None:
        return {}
    changes = data.model_dump(exclude_unset=True)
    if "navidrome_password" in changes:
        password = changes.pop("navidrome_password")
        changes["navidrome_password_sealed"] = users.box.seal(password) if password else None
    if changes.get("navidrome_user") == "":
        changes["navidrome_user"] = None
    return changes


class UsersController(Controller):
    path = "/api/users"
    tags = ["users"]
    dependencies = {"who": Provide(admin_principal)}

    @get(operation_id="listUsers", summary="Every user")
    async def list_users(self, who: NamedDependency[Principal], state: State) -> list[UserOut]:
        return [user_out(state.users, row) for row in state.users.all()]

    @post(operation_id="createUser", summary="Add a user (gets a fresh Subsonic app-password)", status_code=201)
    async def create_user(self, who: NamedDependency[Principal], data: JSONBody[UserIn], state: State) -> UserOut:
        slots: PasswordSlots = state.password_slots
        row = await slots.run(
            functools.partial(state.users.create, data.username, data.password, is_admin=data.is_admin)
        )
        gateway: Gateway = state.gateway
        await gateway.set_accounts(who, row.username, account_changes(state.users, data.accounts))
        return user_out(state.users, row)

    @get("/{username:str}", operation_id="getUser", summary="One user")
    async def get_user(self, who: NamedDependency[Principal], username: FromPath[str], state: State) -> UserOut:
        row = state.users.get(username)
        if row is None:
            raise NotFoundException(f"no user {username}")
        return user_out(state.users, row)

    @patch(
        "/{username:str}",
        operation_id="updateUser",
        summary="Change a password (ends the user's sessions, revokes their API tokens and replaces their Subsonic "
        "app-password), the admin flag, or enable a user",
    )
    async def update_user(
        self, who: NamedDependency[Principal], username: FromPath[str], data: JSONBody[UserPatchIn], state: State
    ) -> UserOut:
        if username == who.username and (data.is_admin is False or data.enabled is False):
            raise Invalid("you cannot demote or disable yourself")
        try:
            slots: PasswordSlots = state.password_slots
            row = await slots.run(
                functools.partial(
                    state.users.update, username, password=data.password, is_admin=data.is_admin, enabled=data.enabled
                )
            )
        except KeyError:
            raise NotFoundException(f"no user {username}") from None
        state.users.forget_cached(username)
        if data.enabled is not None:
            await state.gateway.set_accounts(who, username, {})
        return user_out(state.users, row)

    @put("/{username:str}/accounts", operation_id="setUserAccounts", summary="Set a user's listening accounts")
    async def set_accounts(
        self, who: NamedDependency[Principal], username: FromPath[str], data: JSONBody[AccountsIn], state: State
    ) -> UserOut:
        if state.users.get(username) is None:
            raise NotFoundException(f"no user {username}")
        await state.gateway.set_accounts(who, username, account_changes(state.users, data))
        row = state.users.get(username)
        assert row is not None
        return user_out(state.users, row)

    @delete("/{username:str}", operation_id="deleteUser", summary="Remove a user and their sessions and tokens")
    async def delete_user(self, who: NamedDependency[Principal], username: FromPath[str], state: State) -> None:
        if username == who.username:
            raise UserError("you cannot delete yourself")
        try:
            state.users.delete(username)
        except KeyError:
            raise NotFoundException(f"no user {username}") from None
        for changed in state.gateway.accounts_changed:
            changed(username)
        await state.gateway.settings.delete_accounts(username)
