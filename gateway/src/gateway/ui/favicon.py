"""/favicon.ico, which every browser asks for: answered with no content instead of a 404 in the console."""

from __future__ import annotations

from litestar import Response, get

__all__ = ["favicon"]


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Response[None]:
    return Response(None, status_code=204, headers={"Cache-Control": "public, max-age=86400"})
