"""MP3: ID3v2.4 frames, Picard's names for the MusicBrainz ids (UFID for the recording, TXXX for the rest)."""

from __future__ import annotations

from typing import Any

import mutagen.id3

from ...domain.tagplan import CoreTags, Enrichment

__all__ = ["Id3Family"]

# mutagen's frame constructors are unannotated; strict mypy refuses to call them from typed code
F: Any = mutagen.id3

_TEXT = {
    "title": F.TIT2,
    "artist": F.TPE1,
    "albumartist": F.TPE2,
    "album": F.TALB,
    "tracknumber": F.TRCK,
    "discnumber": F.TPOS,
}
_TIME = {"date": F.TDRC, "originaldate": F.TDOR}
_TXXX = {
    "artists": "ARTISTS",
    "musicbrainz_artistid": "MusicBrainz Artist Id",
    "musicbrainz_albumid": "MusicBrainz Album Id",
    "musicbrainz_albumartistid": "MusicBrainz Album Artist Id",
    "musicbrainz_releasegroupid": "MusicBrainz Release Group Id",
}
_UFID_OWNER = "http://musicbrainz.org"


class Id3Family:
    def clear(self, audio: Any) -> None:
        if audio.tags is None:
            audio.add_tags()
        audio.tags.clear()

    def write_core(self, audio: Any, tags: CoreTags) -> None:
        t = audio.tags
        for key, values in tags.items():
            if key in _TEXT:
                t.add(_TEXT[key](encoding=3, text=values))
            elif key in _TIME:
                t.add(_TIME[key](encoding=3, text=values))
            elif key == "isrc":
                t.add(F.TSRC(encoding=3, text=values))
            elif key == "musicbrainz_trackid":
                t.add(F.UFID(owner=_UFID_OWNER, data=values[0].encode()))
            elif key in _TXXX:
                t.add(F.TXXX(encoding=3, desc=_TXXX[key], text=values))
            else:
                raise KeyError(f"no ID3 frame for {key}")

    def read_core(self, audio: Any) -> CoreTags:
        t = audio.tags
        out: CoreTags = {}
        if t is None:
            return out
        for key, frame in {**_TEXT, **_TIME, "isrc": F.TSRC}.items():
            found = t.get(frame.__name__)
            if found is not None:
                out[key] = [str(v) for v in found.text]
        ufid = t.get(f"UFID:{_UFID_OWNER}")
        if ufid is not None:
            out["musicbrainz_trackid"] = [ufid.data.decode()]
        for key, desc in _TXXX.items():
            found = t.get(f"TXXX:{desc}")
            if found is not None:
                out[key] = [str(v) for v in found.text]
        return out

    def write_enrichment(self, audio: Any, enrichment: Enrichment) -> None:
        t = audio.tags
        t.delall("TCON")
        t.delall("APIC")
        if enrichment.genres:
            t.add(F.TCON(encoding=3, text=enrichment.genres))
        if enrichment.cover:
            t.add(
                F.APIC(
                    encoding=3,
                    mime=enrichment.cover_mime,
                    type=F.PictureType.COVER_FRONT,
                    desc="",
                    data=enrichment.cover,
                )
            )

    def read_genres(self, audio: Any) -> list[str]:
        found = audio.tags.get("TCON") if audio.tags is not None else None
        return [str(v) for v in found.text] if found is not None else []

    def read_cover(self, audio: Any) -> bytes | None:
        if audio.tags is None:
            return None
        pictures = audio.tags.getall("APIC")
        return bytes(pictures[0].data) if pictures else None

    def save(self, audio: Any) -> None:
        audio.save(v2_version=4)
