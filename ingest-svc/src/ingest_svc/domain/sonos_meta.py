"""What a Sonos speaker is playing, read from its track URI and metadata: the music service and the radio title.

Service detection trusts the `sid` parameter of the track URI, never the URI's shape, and names it from the
speaker's own list of music services (`MusicServices#ListAvailableServices`). The table below is only the fallback
for a speaker whose list could not be read; it was checked against real speakers:

    x-sonosapi-stream:s24939?sid=254&flags=8224&sn=0        TuneIn         254
    x-sonos-spotify:spotify%3atrack%3a…?sid=12&flags=8224   Spotify        12 (9 on older firmware)
    x-sonos-http:song%3a1440…mp4?sid=204&flags=8224         Apple Music    204
    x-sonos-http:tr%3a3135556.mp3?sid=2&flags=8224          Deezer         2
    x-file-cifs://nas/Music/…/01.flac                       local_library  (no sid: the speaker reads a share)
    x-rincon-stream:RINCON_…                                line_in        (an analogue input: no metadata)

Anything else is `unknown`, kept with its sid so it can be named later.

Radio titles ("stream content") follow these rules, in order; a title they drop is never logged:
1. Empty text, or Sonos's own status strings (`ZPSTR_CONNECTING`, `ZPSTR_BUFFERING`, …): dropped.
2. `TYPE=SNG|TITLE …|ARTIST …|ALBUM …` (Apple Music radio, SiriusXM): a song when TYPE is SNG and TITLE and ARTIST
   are set; any other TYPE (ads, station ids) is dropped.
3. Text holding a web address or a phone number is the station advertising itself: dropped.
4. "Artist - Title" (hyphen or en dash with spaces around it) is split at the first separator; both halves must be
   non-empty. Text without a separator is a show name or a slogan, not a song: dropped.
5. An artist half naming an advert, jingle, station id, news, traffic or weather break ("Ad break - back soon"),
   or a title half that is only such a word ("Radio X - Jingle"), is an announcement: dropped. A song that merely
   has such a word in its title ("Kanye West - Good News") is kept.
6. An artist equal to the station's name is the station talking about itself: dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "FALLBACK_SERVICES",
    "LINE_IN",
    "LOCAL_LIBRARY",
    "UNKNOWN",
    "RadioTitle",
    "ServiceId",
    "detect_service",
    "service_slug",
    "sid_of",
    "split_stream_title",
]

LOCAL_LIBRARY = "local_library"
LINE_IN = "line_in"
UNKNOWN = "unknown"

FALLBACK_SERVICES: dict[int, str] = {254: "tunein", 12: "spotify", 9: "spotify", 204: "apple_music", 2: "deezer"}
"""Used only when the speaker's own service list is unavailable or does not name the sid."""


@dataclass(frozen=True)
class ServiceId:
    name: str
    """`spotify`, `tunein`, `apple_music`, `local_library`, `line_in`, `unknown`, … (lowercase, underscores)."""
    sid: int | None = None


def service_slug(name: str) -> str:
    """A speaker's display name of a service as a stable identifier: "Apple Music" → `apple_music`."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_") or UNKNOWN


def sid_of(uri: str) -> int | None:
    query = urlsplit(uri).query if "?" in uri else ""
    values = parse_qs(query).get("sid")
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        return None


def detect_service(uri: str, speaker_services: dict[int, str]) -> ServiceId:
    """The service a track URI plays from; `speaker_services` is the speaker's own sid → display name list."""
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "x-file-cifs":
        return ServiceId(LOCAL_LIBRARY)
    if scheme == "x-rincon-stream":
        return ServiceId(LINE_IN)
    sid = sid_of(uri)
    if sid is None:
        return ServiceId(UNKNOWN)
    if sid in speaker_services:
        return ServiceId(service_slug(speaker_services[sid]), sid)
    return ServiceId(FALLBACK_SERVICES.get(sid, UNKNOWN), sid)


@dataclass(frozen=True)
class RadioTitle:
    artist: str | None
    title: str | None
    album: str | None = None
    dropped: str | None = None
    """Why this text is not a song (the rule that dropped it), or None for a song."""

    @property
    def is_song(self) -> bool:
        return self.dropped is None


_NOT_A_SONG = re.compile(
    r"\b(ads?|advert|advertisement|adverts|ad ?break|commercials?|jingle|station ?id|sponsored|"
    r"news|traffic|weather|werbung|publicit[eé])\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"(https?://|www\.|\.com\b|\.fm\b|\+?\d[\d\s().-]{7,}\d)", re.IGNORECASE)
_SEPARATOR = re.compile(r"\s+[-\u2013]\s+")  # a hyphen or an en dash


def split_stream_title(text: str | None, station: str | None = None) -> RadioTitle:
    """Apply the rules of this module's docstring to one radio stream title."""
    text = (text or "").strip()
    if not text:
        return RadioTitle(None, None, dropped="empty")
    if text.upper().startswith("ZPSTR_"):
        return RadioTitle(None, None, dropped="status")
    if "TYPE=" in text and "|" in text:
        tags = dict(part.split(" ", 1) for part in text.split("|") if " " in part)
        kind = next((p.split("=", 1)[1] for p in text.split("|") if p.startswith("TYPE=")), "")
        if kind != "SNG":
            return RadioTitle(None, None, dropped=f"type {kind or 'none'}")
        artist, title = tags.get("ARTIST", "").strip(), tags.get("TITLE", "").strip()
        if not artist or not title:
            return RadioTitle(None, None, dropped="incomplete")
        return RadioTitle(artist, title, tags.get("ALBUM", "").strip() or None)
    if _ADDRESS.search(text):
        return RadioTitle(None, None, dropped="address")
    parts = _SEPARATOR.split(text, maxsplit=1)
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        return RadioTitle(None, None, dropped="no artist")
    artist, title = parts[0].strip(), parts[1].strip()
    if _NOT_A_SONG.search(artist) or _NOT_A_SONG.fullmatch(title):
        return RadioTitle(None, None, dropped="announcement")
    if station and artist.casefold() == station.strip().casefold():
        return RadioTitle(None, None, dropped="station")
    return RadioTitle(artist, title)
