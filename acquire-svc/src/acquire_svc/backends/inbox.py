"""The inbox folder: audio files a person drops in, matched to wanted tracks by their tags or their file name.

A file tagged with the wanted recording MBID is taken before any fuzzy match (ID > MBID > fuzzy text). Otherwise
the title (tag, else the file name without an "Artist - " prefix and a leading track number) must match well enough,
and so must the artist when the file names one. The folder is indexed once and re-read only for files whose size or
modification time changed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen

from ..domain.matching import rank, title_similarity
from ..ports import Candidate, Progress, Wanted
from . import AUDIO_SUFFIXES, copy_file

__all__ = ["InboxBackend", "InboxEntry"]

log = logging.getLogger(__name__)
_LEADING_NUMBER = re.compile(r"^\s*\d{1,3}\s*[-._)]?\s+")


@dataclass(frozen=True)
class InboxEntry:
    path: Path
    title: str
    artist: str | None
    recording_mbid: str | None
    duration_s: float | None
    stamp: tuple[int, int]


def _read(path: Path, stamp: tuple[int, int]) -> InboxEntry:
    title: str | None = None
    artist: str | None = None
    mbid: str | None = None
    duration: float | None = None
    try:
        audio: Any = mutagen.File(path, easy=True)
    except (mutagen.MutagenError, OSError, ValueError) as exc:
        log.info("inbox file %s has unreadable tags (%s); matching by name", path.name, exc)
        audio = None
    if audio is not None:
        duration = float(audio.info.length) if audio.info is not None else None
        if audio.tags is not None:
            title = str(audio["title"][0]) if audio.get("title") else None
            artist = str(audio["artist"][0]) if audio.get("artist") else None
            mbid = str(audio["musicbrainz_trackid"][0]) if audio.get("musicbrainz_trackid") else None
    if title is None:
        stem = _LEADING_NUMBER.sub("", path.stem)
        parts = [p.strip() for p in re.split(r"\s+[-\u2013]\s+", stem, maxsplit=1)]
        if len(parts) == 2:
            artist, title = artist or parts[0], parts[1]
        else:
            title = stem
    return InboxEntry(path, title, artist, mbid, duration, stamp)


class InboxBackend:
    name = "inbox"

    def __init__(self, folder: Path, *, min_similarity: float = 0.8, remove_taken: bool = True) -> None:
        self.folder = folder
        self.min_similarity = min_similarity
        self.remove_taken = remove_taken
        self._index: dict[Path, InboxEntry] = {}

    def _refresh(self) -> list[InboxEntry]:
        seen: dict[Path, InboxEntry] = {}
        if self.folder.is_dir():
            for path in self.folder.rglob("*"):
                if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file() or path.name.startswith("."):
                    continue
                st = path.stat()
                stamp = (st.st_size, st.st_mtime_ns)
                known = self._index.get(path)
                seen[path] = known if known is not None and known.stamp == stamp else _read(path, stamp)
        self._index = seen
        return list(seen.values())

    async def search(self, want: Wanted) -> list[Candidate]:
        entries = await asyncio.to_thread(self._refresh)

        def candidate(e: InboxEntry) -> Candidate:
            rel = e.path.relative_to(self.folder).as_posix()
            cid = f"{rel}:{e.stamp[0]}:{e.stamp[1]}"  # a replaced file is a new candidate
            return Candidate(self.name, cid, e.title, e.duration_s, e.stamp[0], ref=e.path)

        by_id = [candidate(e) for e in entries if e.recording_mbid == str(want.recording_mbid)]
        if by_id:
            return by_id
        artists = [want.artist, *want.artists]
        plausible = {
            str(e.path): e
            for e in entries
            if e.recording_mbid is None
            and (e.artist is None or max(title_similarity(a, e.artist) for a in artists) >= self.min_similarity)
        }
        ranked = rank(
            want.title,
            artists,
            want.duration_s,
            [(key, e.title, e.duration_s) for key, e in plausible.items()],
            min_similarity=self.min_similarity,
        )
        return [candidate(plausible[r.key]) for r in ranked if r.dropped is None]

    async def fetch(self, candidate: Candidate, work: Path, progress: Progress) -> Path:
        src: Path = candidate.ref
        return await copy_file(src, work / f"inbox{src.suffix.lower()}", progress)

    async def taken(self, candidate: Candidate) -> None:
        if self.remove_taken:
            path: Path = candidate.ref
            await asyncio.to_thread(path.unlink, True)
            self._index.pop(path, None)
