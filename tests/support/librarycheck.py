"""What a whole-loop run must leave: every library file unique and tagged as the world says, and the catalog listing
exactly the files on disk. Shared by the chaos suites (one node and a cluster)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx

from .loopstack import ADMIN_USER, LoopStack
from .tagread import read_file_tags

__all__ = ["AUDIO_SUFFIXES", "assert_library_matches_the_world", "audio_files"]

AUDIO_SUFFIXES = {".mp3", ".flac", ".ogg", ".opus", ".m4a"}


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


async def assert_library_matches_the_world(stack: LoopStack) -> None:
    files = audio_files(stack.music_dir)
    by_mbid = stack.world.by_mbid()
    mbids: Counter[str | None] = Counter()
    bad: list[str] = []
    for path in files:
        tags = read_file_tags(path)
        mbids[tags.recording_mbid] += 1
        t = by_mbid.get(str(tags.recording_mbid))
        if t is None:
            bad.append(f"{path}: unknown recording {tags.recording_mbid}")
            continue
        if (tags.title, tags.artist, tags.album, tags.albumartist) != (t.title, t.artist, t.album, t.album_artist):
            bad.append(f"{path.name}: {(tags.title, tags.artist, tags.album, tags.albumartist)}")
        if len(tags.pictures) != 1 or tags.pictures[0] not in t.covers.values():
            bad.append(f"{path.name}: {len(tags.pictures)} pictures, not the album's cover")
    assert bad == []
    assert [m for m, c in mbids.items() if c > 1] == []  # no recording twice
    # the catalog lists exactly the files on disk
    params = {"u": ADMIN_USER, "f": "json", "query": "", "songCount": 1000, "artistCount": 0, "albumCount": 0}
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.get(f"{stack.library_url}/rest/search3", params=params, headers=stack.library_headers())
    songs = reply.json()["subsonic-response"]["searchResult3"].get("song", [])
    assert {s["path"] for s in songs} == {p.relative_to(stack.music_dir).as_posix() for p in files}
