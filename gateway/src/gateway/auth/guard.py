"""Who is asking: a session cookie (with CSRF on unsafe methods) or a Bearer API token."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from .users import Principal, Users

__all__ = ["CSRF_HEADER", "SESSION_COOKIE", "admin_principal", "optional_principal", "principal"]

SESSION_COOKIE = "bs_session"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def _resolve(request: Request[Any, Any, Any]) -> Principal | None:
    users: Users = request.app.state.users
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        found = users.token_principal(auth[7:].strip())
        if found is None:
            raise NotAuthorizedException("invalid API token")
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = users.session_principal(cookie)
    if found is None:
        return None
    if request.method not in _SAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        # a cookie alone proves nothing on a state change: another site's form could have sent it
        if not (found.csrf and sent and hmac.compare_digest(sent, found.csrf)):
            raise PermissionDeniedException("missing or wrong CSRF token (send the X-CSRF-Token header)")
    return found


async def optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    return _resolve(request)


async def principal(request: Request[Any, Any, Any]) -> Principal:
    found = _resolve(request)
    if found is None:
        raise NotAuthorizedException("log in, or send Authorization: Bearer <API token>")
    return found


async def admin_principal(request: Request[Any, Any, Any]) -> Principal:
    found = await principal(request)
    if not found.is_admin:
        raise PermissionDeniedException("administrators only")
    return found
