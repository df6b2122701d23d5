"""FLAC, Ogg Vorbis and Ogg Opus: Vorbis comments under Picard's names; the cover as a FLAC picture block or, in
Ogg, as a base64 `METADATA_BLOCK_PICTURE` comment."""

from __future__ import annotations

import base64
from typing import Any

import mutagen.flac

from ...domain.tagplan import CoreTags, Enrichment

__all__ = ["VorbisFamily"]

Picture: Any = mutagen.flac.Picture  # unannotated in mutagen

_SPLIT = {"tracknumber": "tracktotal", "discnumber": "disctotal"}


def _picture(enrichment: Enrichment) -> Any:
    pic = Picture()
    pic.type = 3  # front cover
    pic.mime = enrichment.cover_mime
    pic.data = enrichment.cover
    return pic


class VorbisFamily:
    def __init__(self, *, flac: bool) -> None:
        self.flac = flac

    def clear(self, audio: Any) -> None:
        if audio.tags is None:
            audio.add_tags()
        audio.tags.clear()
        if self.flac:
            audio.clear_pictures()

    def write_core(self, audio: Any, tags: CoreTags) -> None:
        for key, values in tags.items():
            if key in _SPLIT:
                number, _, total = values[0].partition("/")
                audio[key] = [number]
                if total:
                    audio[_SPLIT[key]] = [total]
            else:
                audio[key] = list(values)

    def read_core(self, audio: Any) -> CoreTags:
        out: CoreTags = {}
        if audio.tags is None:
            return out
        present = {k.lower() for k in audio.tags.keys()}  # noqa: SIM118 (VComment iterates as pairs)
        for key in present:
            if key in _SPLIT.values() or key in ("genre", "metadata_block_picture"):
                continue
            values = [str(v) for v in audio[key]]
            if key in _SPLIT and _SPLIT[key] in present:
                values = [f"{values[0]}/{audio[_SPLIT[key]][0]}"]
            out[key] = values
        return out

    def write_enrichment(self, audio: Any, enrichment: Enrichment) -> None:
        for key in ("genre", "metadata_block_picture"):
            if key in audio:
                del audio[key]
        if self.flac:
            audio.clear_pictures()
        if enrichment.genres:
            audio["genre"] = list(enrichment.genres)
        if enrichment.cover:
            pic = _picture(enrichment)
            if self.flac:
                audio.add_picture(pic)
            else:
                audio["metadata_block_picture"] = [base64.b64encode(pic.write()).decode("ascii")]

    def read_genres(self, audio: Any) -> list[str]:
        return [str(v) for v in audio.get("genre", [])] if audio.tags is not None else []

    def read_cover(self, audio: Any) -> bytes | None:
        if self.flac:
            return bytes(audio.pictures[0].data) if audio.pictures else None
        blocks = audio.get("metadata_block_picture", []) if audio.tags is not None else []
        if not blocks:
            return None
        return bytes(Picture(base64.b64decode(blocks[0])).data)

    def save(self, audio: Any) -> None:
        audio.save()
