"""Covers at the size a client asks for (`getCoverArt&size=N`), made with Pillow and kept in the disk cache.

The image is fitted inside NxN keeping its proportions and never enlarged (a 300 px scan asked at 600 px is sent
as it is). JPEG stays JPEG; PNG and WebP with transparency stay PNG; everything else becomes JPEG at quality 85.
An image Pillow cannot read is sent unchanged rather than failing the call.
"""

from __future__ import annotations

import io
import logging

from PIL import Image, UnidentifiedImageError

__all__ = ["MAX_SIZE", "resize"]

log = logging.getLogger(__name__)

MAX_SIZE = 2048
"""Largest size served; a larger `size` is treated as this."""


def resize(data: bytes, mime: str, size: int) -> tuple[bytes, str]:
    """(bytes, content type) of the image fitted inside sizexsize."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            img: Image.Image = opened
            if img.width <= size and img.height <= size:
                return data, mime
            opened.draft("RGB", (size, size))  # JPEG: decode at a reduced scale first, several times faster
            keep_alpha = img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info)
            img = img.convert("RGBA" if keep_alpha else "RGB")
            img.thumbnail((size, size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if keep_alpha:
                img.save(out, "PNG", optimize=True)
                return out.getvalue(), "image/png"
            img.save(out, "JPEG", quality=85, optimize=True)
            return out.getvalue(), "image/jpeg"
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        log.info("cover not resized (%s): sent as stored", exc)
        return data, mime
