"""Map the use cases' errors to HTTP answers, in one place."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.types import ExceptionHandlersMap

from ..adapters.library import LibraryUnavailable, NotInLibrary
from ..auth.limiter import Busy
from ..auth.users import UserError
from ..service import Conflict, Invalid, Missing

__all__ = ["EXCEPTION_HANDLERS"]


def _conflict(_: Request[Any, Any, Any], exc: Conflict) -> Response[Any]:
    body: dict[str, Any] = {"detail": str(exc)}
    if exc.existing is not None:
        body["existing"] = exc.existing
    return Response(body, status_code=409, media_type=MediaType.JSON)


def _invalid(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"detail": str(exc)}, status_code=400, media_type=MediaType.JSON)


def _busy(_: Request[Any, Any, Any], exc: Busy) -> Response[Any]:
    return Response({"detail": str(exc)}, status_code=503, media_type=MediaType.JSON, headers={"Retry-After": "1"})


def _missing(_: Request[Any, Any, Any], exc: Missing) -> Response[Any]:
    return Response({"detail": f"not found: {exc}"}, status_code=404, media_type=MediaType.JSON)


def _library_down(_: Request[Any, Any, Any], exc: LibraryUnavailable) -> Response[Any]:
    return Response(
        {"detail": str(exc), "status_code": exc.status},
        status_code=exc.status,
        media_type=MediaType.JSON,
        headers={"Retry-After": "10"} if exc.status == 503 else None,
    )


def _not_in_library(_: Request[Any, Any, Any], exc: NotInLibrary) -> Response[Any]:
    return Response(
        {"detail": f"not in the library: {exc}", "status_code": 404}, status_code=404, media_type=MediaType.JSON
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    LibraryUnavailable: _library_down,
    NotInLibrary: _not_in_library,
    Conflict: _conflict,
    Invalid: _invalid,
    UserError: _invalid,
    Missing: _missing,
    Busy: _busy,
}
