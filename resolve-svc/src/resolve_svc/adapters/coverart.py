"""Cover Art Archive (only when no commercial source matched the album) and the image check every cover passes."""

from __future__ import annotations

from typing import Any

from infra.http import ApiClient, ClientError, NotFound, SourceUnavailable

from .cache import KvCache, cache_key

__all__ = ["CoverArtArchive", "ImageProbe", "looks_like_image"]

_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")


def looks_like_image(head: bytes) -> bool:
    """JPEG, PNG, GIF or WebP by their magic bytes: an HTML error page served as image/jpeg is not a cover."""
    return head.startswith(_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


class ImageProbe:
    def __init__(self, client: ApiClient, cache: KvCache) -> None:
        self.client = client
        self.cache = cache

    async def is_image(self, url: str) -> bool:
        key = cache_key("img", url)
        cached = await self.cache.get(key)
        if cached is not None:
            return bool(cached["x"])
        try:
            resp = await self.client.request("GET", url, headers={"Accept": "image/*"})
        except (NotFound, ClientError):
            ok = False
        except SourceUnavailable:
            return False  # a fault of the image host: not remembered, the next track asks again
        else:
            ok = looks_like_image(resp.content[:16])
        await self.cache.put(key, {"x": ok})
        return ok


class CoverArtArchive:
    def __init__(self, client: ApiClient, cache: KvCache) -> None:
        self.client = client
        self.cache = cache
        self.calls = 0

    async def front(self, entity: str, mbid: str) -> tuple[str, int | None] | None:
        """The front image of a `release-group` or `release`: the largest thumbnail, or the original."""

        async def load() -> dict[str, Any] | None:
            self.calls += 1
            try:
                doc = await self.client.get_json(f"/{entity}/{mbid}")
            except NotFound:
                return None
            return doc if isinstance(doc, dict) else None

        doc = await self.cache.through(cache_key("caa", entity, mbid), load)
        if not doc:
            return None
        for image in doc.get("images") or []:
            if image.get("front"):
                thumbs = image.get("thumbnails") or {}
                sizes = sorted((int(k), v) for k, v in thumbs.items() if str(k).isdigit())
                if sizes:
                    return sizes[-1][1], sizes[-1][0]
                return image.get("image"), None
        return None
