"""Two-stage tagging of a staging file, each stage written on a copy, read back, then renamed into place.

The rename makes every stage all-or-nothing: a crash leaves either the previous complete state or the new one,
never a half-written header. What is already in the file tells how far it got, so a redelivery resumes at the
first unfinished stage without a marker file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import mutagen
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis

from ..domain.tagplan import CoreTags, Enrichment
from ..ports import TagCheckFailed
from .tags import family_for

__all__ = ["TagCheckFailed", "Tagger"]


_CLASSES: dict[str, Any] = {"mp3": MP3, "flac": FLAC, "ogg": OggVorbis, "opus": OggOpus, "m4a": MP4}


def _open(path: Path, fmt: str) -> Any:
    """Open with the format's own class: the format is known, so mutagen need not sniff every parser."""
    try:
        return _CLASSES[fmt](path)
    except mutagen.MutagenError as exc:
        raise TagCheckFailed(f"{path.name}: mutagen no longer reads it as {fmt}: {exc}") from exc


class Tagger:
    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch

    # read ---------------------------------------------------------------------------------------------------------

    def stage1_done(self, path: Path, fmt: str, plan: CoreTags) -> bool:
        return self._core_mismatch(_open(path, fmt), fmt, plan) is None

    def stage2_done(self, path: Path, fmt: str, genres: list[str], want_cover: bool) -> bool:
        audio = _open(path, fmt)
        family = family_for(fmt)
        if family.read_genres(audio) != list(genres):
            return False
        return not want_cover or family.read_cover(audio) is not None

    def _core_mismatch(self, audio: Any, fmt: str, plan: CoreTags) -> str | None:
        found = family_for(fmt).read_core(audio)
        for key, values in plan.items():
            if found.get(key) != values:
                return f"{key}: wrote {values!r}, read {found.get(key)!r}"
        return None

    # write --------------------------------------------------------------------------------------------------------

    def stage1(self, path: Path, fmt: str, plan: CoreTags) -> None:
        """Replace every tag (and picture) with the core tags, then check them."""

        def write(audio: Any) -> None:
            family = family_for(fmt)
            family.clear(audio)
            family.write_core(audio, plan)
            family.save(audio)

        def check(audio: Any) -> None:
            if problem := self._core_mismatch(audio, fmt, plan):
                raise TagCheckFailed(f"stage 1 read-back of {path.name}: {problem}")

        self._on_copy(path, fmt, write, check)

    def stage2(self, path: Path, fmt: str, plan: CoreTags, enrichment: Enrichment) -> None:
        """Add cover and genres; the core tags must survive the write."""
        family = family_for(fmt)

        def write(audio: Any) -> None:
            family.write_enrichment(audio, enrichment)
            family.save(audio)

        def check(audio: Any) -> None:
            if problem := self._core_mismatch(audio, fmt, plan):
                raise TagCheckFailed(f"stage 2 read-back of {path.name}: core tag lost, {problem}")
            if family.read_genres(audio) != list(enrichment.genres):
                raise TagCheckFailed(f"stage 2 read-back of {path.name}: genres {family.read_genres(audio)!r}")
            if enrichment.cover and family.read_cover(audio) != enrichment.cover:
                raise TagCheckFailed(f"stage 2 read-back of {path.name}: cover differs from the one written")

        self._on_copy(path, fmt, write, check)

    def _on_copy(self, path: Path, fmt: str, write: Any, check: Any) -> None:
        self.scratch.mkdir(parents=True, exist_ok=True)
        tmp = self.scratch / f"{path.stem}.tagging{path.suffix}"
        shutil.copyfile(path, tmp)
        try:
            write(_open(tmp, fmt))
            check(_open(tmp, fmt))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
