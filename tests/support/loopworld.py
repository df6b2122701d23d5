"""A generated music world for whole-loop suites: N recordings with everything the library must end up with.

`LoopWorld(n)` makes N recordings (recording, artist, release and release-group MBIDs, normalized titles, credits
with "feat.", accented names, short lengths) and decides, per recording, which link of the album chain must name
its album: iTunes or Deezer, Deezer only, or MusicBrainz + Cover Art Archive. `tests/support/loopfakes.py` serves
it as the external services. `world.drop_inbox(folder)` writes one tagged audio file per recording for acquire-svc's
inbox backend; the file's own title/album/artist tags are deliberately raw ("… - Topic", "YouTube rip") and so is its
name ("(Official Audio) [Remastered 2023]"), so only the MusicBrainz-normalized values can end up in the library.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .audio import EXTENSIONS, make_audio

__all__ = ["AUDIO_SECONDS", "LB_TOKEN", "LB_USER", "LoopWorld", "WorldTrack", "cover_jpeg", "fold", "world_id"]

_NS = uuid.UUID("4b7e0c52-1f3a-4d55-9a0e-6c2d8b1e7f90")
LB_USER = "loop-listener"
LB_TOKEN = "loop-listener-token-0001"
"""The user's ListenBrainz token, for the stacks that send feedback (the fake refuses any other)."""
AUDIO_SECONDS = 2.0
_FORMATS = ("mp3", "flac", "ogg", "m4a")
_CHAIN = ("itunes", "deezer", "coverartarchive")

_ARTISTS = (
    "Sigur Rós",
    "Beyoncé",
    "Motörhead",
    "The Velvet Lanterns",
    "Ana Ćorić",
    "Kite Orchestra",
    "Mariposa Eléctrica",
    "North Atlas",
    "Hollow Pines",
    "Jun Okada",
    "Clara Voss",
    "Dust & Daylight",
)
_WORDS = (
    "amber", "harbour", "lantern", "silver", "quiet", "river", "echo", "meadow", "signal", "winter", "paper",
    "satellite", "velvet", "orbit", "coral", "ember", "canyon", "mirror", "tidal", "aurora", "hollow", "prism",
    "lumen", "cinder", "willow", "static", "glacier", "fable", "nomad", "saffron",
)  # fmt: skip


def world_id(key: str) -> str:
    """A stable MBID for a key of this world."""
    return str(uuid.uuid5(_NS, key))


def fold(text: str) -> str:
    """Lower case, no accents, words only: how the fakes match search terms, like the real search engines roughly do."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def cover_jpeg(key: str) -> bytes:
    """A small JPEG whose comment segment names `key`: each album's cover is distinct bytes."""
    comment = f"brainstream cover {key}".encode()
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    com = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return b"\xff\xd8" + app0 + com + b"\xff\xd9"


@dataclass(frozen=True)
class WorldTrack:
    """One recording and the normalized values the library must end up with."""

    n: int
    recording_mbid: str
    title: str
    credit: tuple[tuple[str, str, str], ...]
    """(name, join phrase, artist MBID) per credited artist."""
    album: str
    release_mbid: str
    release_group_mbid: str
    compilation: str | None
    """A compilation that MusicBrainz and ListenBrainz list before the studio album, if any."""
    year: int
    length_ms: int
    album_source: str
    """Which link of the chain must name the album: 'itunes' (either store: iTunes when its budget allows, else
    Deezer), 'deezer' (iTunes knows only another artist's song of that name) or 'coverartarchive' (no store has it:
    MusicBrainz names the album, the Cover Art Archive gives the cover)."""
    origin: str
    """'cf' or 'radio'."""
    fmt: str

    @property
    def artist(self) -> str:
        return "".join(name + join for name, join, _ in self.credit)

    @property
    def album_artist(self) -> str:
        return self.credit[0][0]

    @property
    def covers(self) -> dict[str, bytes]:
        """The covers the track may carry, by source: its album's artwork at each source allowed to name it."""
        sources = ("itunes", "deezer") if self.album_source == "itunes" else (self.album_source,)
        return {src: cover_jpeg(f"{src}:{self.release_group_mbid}") for src in sources}


@dataclass
class LoopWorld:
    n: int = 50
    cf_ratio: float = 0.8
    tracks: list[WorldTrack] = field(default_factory=list)
    listens: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        radio_from = round(self.n * self.cf_ratio)
        for i in range(self.n):
            a = _ARTISTS[i % len(_ARTISTS)]
            credit: tuple[tuple[str, str, str], ...] = ((a, "", world_id(f"artist:{a}")),)
            if i % 7 == 3:  # a featured artist: the full credit is the artist tag, the main one the album artist
                b = _ARTISTS[(i + 5) % len(_ARTISTS)]
                credit = ((a, " feat. ", world_id(f"artist:{a}")), (b, "", world_id(f"artist:{b}")))
            title = f"{_WORDS[i % len(_WORDS)].title()} {_WORDS[(i * 7 + 3) % len(_WORDS)]} {i}"
            album = f"{_WORDS[(i * 3 + 1) % len(_WORDS)].title()} Sessions {i // 2}"
            self.tracks.append(
                WorldTrack(
                    n=i,
                    recording_mbid=world_id(f"recording:{i}"),
                    title=title,
                    credit=credit,
                    album=album,
                    release_mbid=world_id(f"release:{album}"),
                    release_group_mbid=world_id(f"rg:{album}"),
                    compilation=f"The Best of {a}" if i % 4 == 2 else None,
                    year=1990 + i % 30,
                    length_ms=int(AUDIO_SECONDS * 1000) + (i % 5) * 100,
                    album_source=_CHAIN[i % len(_CHAIN)],
                    origin="cf" if i < radio_from else "radio",
                    fmt=_FORMATS[i % len(_FORMATS)],
                )
            )
        # some listening history, so the listen poll has something to record
        for k, t in enumerate(self.tracks[:3]):
            msid = world_id(f"msid:{k}")
            self.listens.append(
                {
                    "listened_at": 1_700_000_000 + k * 300,
                    "recording_msid": msid,
                    "user_name": LB_USER,
                    "track_metadata": {
                        "artist_name": t.artist,
                        "track_name": t.title,
                        "release_name": t.album,
                        "additional_info": {"recording_msid": msid, "duration_ms": t.length_ms},
                        "mbid_mapping": {"recording_mbid": t.recording_mbid},
                    },
                }
            )

    def by_mbid(self) -> dict[str, WorldTrack]:
        return {t.recording_mbid: t for t in self.tracks}

    @property
    def cf(self) -> list[WorldTrack]:
        return [t for t in self.tracks if t.origin == "cf"]

    @property
    def radio(self) -> list[WorldTrack]:
        return [t for t in self.tracks if t.origin == "radio"]

    def drop_inbox(self, folder: Path) -> list[Path]:
        """One audio file per recording, tagged with its recording MBID and deliberately raw display tags."""
        paths = []
        for t in self.tracks:
            raw_name = f"{t.n:02d} {t.album_artist} - {t.title} (Official Audio) [Remastered 2023]"
            path = folder / f"{raw_name}{EXTENSIONS[t.fmt]}"
            tags = {
                "title": t.title,
                "artist": f"{t.album_artist} - Topic",
                "album": "YouTube rip",
                "musicbrainz_trackid": t.recording_mbid,
            }
            bitrate = None if t.fmt == "flac" else 160
            paths.append(make_audio(path, t.fmt, AUDIO_SECONDS, bitrate_kbps=bitrate, tags=tags))
        return paths
