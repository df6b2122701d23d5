"""Map the use cases' errors to HTTP answers, in one place."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import NotFoundException
from litestar.response import Template
from litestar.types import ExceptionHandlersMap

from ..adapters.library import LibraryUnavailable, NotInLibrary
from ..auth.limiter import Busy
from ..auth.users import UserError
from ..service import Conflict, Invalid, Missing, Unavailable

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


def _unavailable(_: Request[Any, Any, Any], exc: Unavailable) -> Response[Any]:
    return Response({"detail": str(exc)}, status_code=503, media_type=MediaType.JSON, headers={"Retry-After": "5"})


_MACHINE_PATHS = ("/api/", "/rest/", "/static/", "/schema", "/metrics")


def _not_found(request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any] | Template:
    """A page answers a person with a page; the API, /rest and files answer a program with JSON."""
    path = request.url.path
    if path.startswith(_MACHINE_PATHS) or "text/html" not in request.headers.get("accept", ""):
        return Response({"status_code": 404, "detail": exc.detail}, status_code=404, media_type=MediaType.JSON)
    return Template(
        "notfound.html", context={"me": None, "csrf": "", "detail": exc.detail, "path": path}, status_code=404
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    NotFoundException: _not_found,
    Unavailable: _unavailable,
    LibraryUnavailable: _library_down,
    NotInLibrary: _not_in_library,
    Conflict: _conflict,
    Invalid: _invalid,
    UserError: _invalid,
    Missing: _missing,
    Busy: _busy,
}
