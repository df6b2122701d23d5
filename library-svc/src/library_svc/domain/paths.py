"""Library paths from a template and normalized values, made safe for every filesystem.

Rules, in order, for each path component:
- NFC normalization, so "é" typed two ways is one name;
- NUL and control characters dropped; separators and characters Windows reserves (`<>:"/\\|?*`) become `_`;
- leading and trailing spaces removed, trailing dots removed (Windows drops them silently), a leading dot becomes
  `_` (no hidden files, and never `.` or `..`);
- Windows device names (`CON`, `nul.txt`, `COM1` …) get a `_` suffix;
- at most 255 bytes in UTF-8, cut at a character boundary, keeping the file extension.
Values are cleaned before they are put in the template, so a title such as `../../etc` can never add a directory.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_COMPONENT_BYTES", "PathValues", "disambiguate", "render_path", "safe_component"]

MAX_COMPONENT_BYTES = 255
_RESERVED = re.compile(r'[<>:"/\\|?*]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EMPTY_BRACKETS = re.compile(r"\s*(\(\s*\)|\[\s*\])")
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]
}


@dataclass(frozen=True)
class PathValues:
    """The normalized values a template may use."""

    albumartist: str
    artist: str
    album: str
    title: str
    ext: str
    year: int | None = None
    track: int | None = None
    disc: int | None = None

    def as_fields(self) -> dict[str, Any]:
        return {
            "albumartist": _clean_value(self.albumartist) or "Unknown Artist",
            "artist": _clean_value(self.artist) or "Unknown Artist",
            "album": _clean_value(self.album) or "Unknown Album",
            "title": _clean_value(self.title) or "Untitled",
            "ext": _clean_value(self.ext).lstrip(".") or "bin",
            "year": self.year if self.year is not None else "",
            "track": self.track if self.track is not None else 0,
            "disc": self.disc if self.disc is not None else 1,
        }


def _clean_value(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    return _RESERVED.sub("_", text).strip()


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def safe_component(name: str, *, keep_suffix: bool = False) -> str:
    """One safe directory or file name (see the module rules)."""
    name = _clean_value(name)
    name = _EMPTY_BRACKETS.sub("", name).strip()
    stem, suffix = name, ""
    if keep_suffix and "." in name.lstrip("."):
        stem, _, ext = name.rpartition(".")
        suffix = "." + ext[:16]
    stem = stem.rstrip(". ").strip()
    if stem.startswith("."):
        stem = "_" + stem[1:]
    if not stem:
        stem = "_"
    device, dot, rest = stem.partition(".")
    if device.upper().rstrip() in _WINDOWS_DEVICES:
        stem = f"{device}_{dot}{rest}"
    stem = _truncate_utf8(stem, MAX_COMPONENT_BYTES - len(suffix.encode())).rstrip(". ") or "_"
    return stem + suffix


def render_path(template: str, values: PathValues) -> str:
    """Fill `template` (str.format fields, `/` between directories) and return a safe relative POSIX path."""
    fields = values.as_fields()
    parts = [p for p in template.replace("\\", "/").split("/") if p.strip()]
    if not parts:
        raise ValueError("the path template names no file")
    out: list[str] = []
    for i, part in enumerate(parts):
        rendered = _format(part, fields)
        out.append(safe_component(rendered, keep_suffix=i == len(parts) - 1))
    return "/".join(out)


def disambiguate(path: str, key: str) -> str:
    """A distinct name for another recording that would land on `path`: ` [key]` before the extension."""
    head, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    tag = f" [{key}]"
    stem = _truncate_utf8(stem, MAX_COMPONENT_BYTES - len(tag.encode()) - len(ext.encode()) - 1)
    new = f"{stem}{tag}" + (f".{ext}" if ext else "")
    return f"{head}/{new}" if head else new


def _format(part: str, fields: Mapping[str, Any]) -> str:
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(part):
        out.append(literal)
        if field is None:
            continue
        if field not in fields:
            raise ValueError(f"the path template uses an unknown field {{{field}}}; known: {sorted(fields)}")
        value = fields[field]
        if conversion == "r":
            value = repr(value)
        elif conversion in ("s", "a"):
            value = str(value) if conversion == "s" else ascii(value)
        try:
            out.append(format(value, spec or ""))
        except ValueError:
            out.append(format(str(value), ""))
    return "".join(out)
