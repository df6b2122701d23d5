"""Whether and how a `stream` call is transcoded: the request, the player defaults and the file decide.

The rules, in the order they are applied:
1. `format=raw` sends the file as it is, whatever else was asked (Subsonic 1.9).
2. The limit is the smaller of the request's `maxBitRate` and the player default (user and client, most specific
   rule first, as Navidrome's player settings); 0 or absent means no limit.
3. The target format is the request's `format`, else the player default's, else `default_format` when the file is
   over the limit. An unknown format is refused rather than guessed (error 0 with the formats we know).
4. The file is sent untouched when it already is in the target format (or none is wanted) and within the limit,
   and no `timeOffset` asks to skip into it. A lossless file over a limit is always transcoded.
5. The bitrate is the limit when there is one, else the format's default; it is clamped to what the encoder does.

Worked examples (default_format mp3):
- FLAC at 900 kbps, `format=mp3&maxBitRate=128` → mp3 at 128.
- MP3 at 320 kbps, `maxBitRate=128` → mp3 at 128 (over the limit, no format asked: the default format).
- MP3 at 128 kbps, `maxBitRate=192` → the file (already within the limit).
- FLAC, no parameters, rule `alice/DSub → opus 96` for client DSub of alice → opus at 96.
- MP3, `timeOffset=30` → mp3 at 192 from second 30 (the offset needs a transcode: `transcodeOffset`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

__all__ = ["FORMATS", "PlayerRule", "Transcode", "UnknownFormat", "decide", "rule_for"]


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: frozenset[str]
    default_kbps: int
    min_kbps: int
    max_kbps: int


FORMATS: dict[str, Format] = {
    "mp3": Format("mp3", frozenset({"mp3"}), 192, 32, 320),
    "opus": Format("opus", frozenset({"opus"}), 128, 16, 256),
    "aac": Format("aac", frozenset({"aac", "m4a", "mp4"}), 192, 32, 320),
}


class UnknownFormat(ValueError):
    """A `format` no transcoding exists for."""


class PlayerRule(BaseModel):
    """A default for the streams of one user and/or one client (`*` for any), as Navidrome's player settings."""

    user: str = Field(default="*", description="BrainStream user name, or * for everyone.")
    client: str = Field(default="*", description="Subsonic client name (the `c` parameter), or * for any client.")
    format: str | None = Field(default=None, description="Target format: mp3, opus, aac, or raw; unset: as asked.")
    max_bitrate: int = Field(default=0, ge=0, description="Limit in kbps; 0 for none.")


@dataclass(frozen=True)
class Transcode:
    format: str
    kbps: int
    offset_s: int


def rule_for(rules: Sequence[PlayerRule], user: str, client: str) -> PlayerRule | None:
    """The most specific rule: user and client, then client, then user, then `*`/`*`."""
    for want_user, want_client in ((user, client), ("*", client), (user, "*"), ("*", "*")):
        for rule in rules:
            if rule.user == want_user and rule.client == want_client:
                return rule
    return None


def decide(
    *,
    requested_format: str | None,
    max_bitrate: int,
    offset_s: int,
    suffix: str,
    file_kbps: int,
    rule: PlayerRule | None,
    default_format: str,
) -> Transcode | None:
    """What to send: None for the file itself, else the transcode (see the module's rules)."""
    wanted = (requested_format or "").lower() or (rule.format.lower() if rule and rule.format else "")
    if wanted == "raw":
        return None
    if wanted and wanted not in FORMATS:
        raise UnknownFormat(f"Unknown format {wanted!r}: use one of raw, {', '.join(FORMATS)}")
    limits = [x for x in (max_bitrate, rule.max_bitrate if rule else 0) if x > 0]
    limit = min(limits) if limits else 0
    suffix = suffix.lower().lstrip(".")
    over = limit > 0 and (file_kbps == 0 or file_kbps > limit)
    if not wanted:
        if not over and offset_s <= 0:
            return None
        wanted = suffix if suffix in FORMATS else default_format
    fmt = FORMATS[wanted]
    if suffix in fmt.suffixes and not over and offset_s <= 0:
        return None
    kbps = limit or fmt.default_kbps
    if suffix in fmt.suffixes and file_kbps and not limit:
        kbps = min(kbps, file_kbps) if file_kbps >= fmt.min_kbps else kbps
    return Transcode(wanted, max(fmt.min_kbps, min(fmt.max_kbps, kbps)), max(0, offset_s))
