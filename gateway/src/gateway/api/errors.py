"""Map the use cases' errors to HTTP answers, in one place."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.types import ExceptionHandlersMap

from ..auth.users import UserError
from ..service import Conflict, Invalid, Missing

__all__ = ["EXCEPTION_HANDLERS"]


def _conflict(_: Request[Any, Any, Any], exc: Conflict) -> Response[Any]:
    return Response({"detail": str(exc), "existing": exc.existing}, status_code=409, media_type=MediaType.JSON)


def _invalid(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"detail": str(exc)}, status_code=400, media_type=MediaType.JSON)


def _missing(_: Request[Any, Any, Any], exc: Missing) -> Response[Any]:
    return Response({"detail": f"not found: {exc}"}, status_code=404, media_type=MediaType.JSON)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    Conflict: _conflict,
    Invalid: _invalid,
    UserError: _invalid,
    Missing: _missing,
}
