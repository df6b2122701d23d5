"""Cover images through the shared HTTP client; the URL (and so the host) is whatever resolve-svc chose."""

from __future__ import annotations

import logging

from contracts.common import CoverRef
from infra.http import ApiClient, NotFound

__all__ = ["HttpCoverFetcher"]

log = logging.getLogger(__name__)


class HttpCoverFetcher:
    def __init__(self, client: ApiClient, max_bytes: int) -> None:
        self.client = client
        self.max_bytes = max_bytes

    async def fetch(self, cover: CoverRef) -> tuple[bytes, str] | None:
        try:
            resp = await self.client.request("GET", cover.url, headers={"Accept": "image/*"})
        except NotFound:
            log.warning("cover %s is gone (404); tagging without one", cover.url)
            return None
        data = resp.content
        mime = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if len(data) > self.max_bytes:
            log.warning("cover %s is %d bytes (> %d); tagging without one", cover.url, len(data), self.max_bytes)
            return None
        if mime not in ("image/jpeg", "image/png"):
            mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
        return data, mime
