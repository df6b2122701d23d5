"""M4A: MP4 atoms; MusicBrainz ids and ISRC as iTunes freeform atoms under Picard's names."""

from __future__ import annotations

from typing import Any

import mutagen.mp4

from ...domain.tagplan import CoreTags, Enrichment

__all__ = ["Mp4Family"]

# unannotated in mutagen
MP4Cover: Any = mutagen.mp4.MP4Cover
MP4FreeForm: Any = mutagen.mp4.MP4FreeForm

_TEXT = {"title": "\xa9nam", "artist": "\xa9ART", "albumartist": "aART", "album": "\xa9alb", "date": "\xa9day"}
_PAIR = {"tracknumber": "trkn", "discnumber": "disk"}
_FREE = {
    "isrc": "ISRC",
    "originaldate": "ORIGINALDATE",
    "artists": "ARTISTS",
    "musicbrainz_trackid": "MusicBrainz Track Id",
    "musicbrainz_artistid": "MusicBrainz Artist Id",
    "musicbrainz_albumid": "MusicBrainz Album Id",
    "musicbrainz_albumartistid": "MusicBrainz Album Artist Id",
    "musicbrainz_releasegroupid": "MusicBrainz Release Group Id",
}
_ITUNES = "----:com.apple.iTunes:"


class Mp4Family:
    def clear(self, audio: Any) -> None:
        if audio.tags is None:
            audio.add_tags()
        audio.tags.clear()

    def write_core(self, audio: Any, tags: CoreTags) -> None:
        for key, values in tags.items():
            if key in _TEXT:
                audio.tags[_TEXT[key]] = list(values)
            elif key in _PAIR:
                number, _, total = values[0].partition("/")
                audio.tags[_PAIR[key]] = [(int(number), int(total or 0))]
            elif key in _FREE:
                audio.tags[_ITUNES + _FREE[key]] = [MP4FreeForm(v.encode()) for v in values]
            else:
                raise KeyError(f"no MP4 atom for {key}")

    def read_core(self, audio: Any) -> CoreTags:
        out: CoreTags = {}
        t = audio.tags
        if t is None:
            return out
        for key, atom in _TEXT.items():
            if atom in t:
                out[key] = [str(v) for v in t[atom]]
        for key, atom in _PAIR.items():
            if atom in t:
                number, total = t[atom][0]
                out[key] = [f"{number}/{total}" if total else str(number)]
        for key, name in _FREE.items():
            if _ITUNES + name in t:
                out[key] = [bytes(v).decode() for v in t[_ITUNES + name]]
        return out

    def write_enrichment(self, audio: Any, enrichment: Enrichment) -> None:
        for atom in ("\xa9gen", "covr"):
            if atom in audio.tags:
                del audio.tags[atom]
        if enrichment.genres:
            audio.tags["\xa9gen"] = list(enrichment.genres)
        if enrichment.cover:
            kind = MP4Cover.FORMAT_PNG if enrichment.cover_mime == "image/png" else MP4Cover.FORMAT_JPEG
            audio.tags["covr"] = [MP4Cover(enrichment.cover, imageformat=kind)]

    def read_genres(self, audio: Any) -> list[str]:
        return [str(v) for v in audio.tags.get("\xa9gen", [])] if audio.tags is not None else []

    def read_cover(self, audio: Any) -> bytes | None:
        covers = audio.tags.get("covr", []) if audio.tags is not None else []
        return bytes(covers[0]) if covers else None

    def save(self, audio: Any) -> None:
        audio.save()
