"""Library path templates: the rules an administrator's template must follow, and how it is filled.

One module for both sides: the gateway checks a template when it is saved (and shows a preview), library-svc fills
it for every import. A template is `str.format` fields between `/`-separated directories, e.g.
`{albumartist}/{album} ({year})/{disc}-{track:02} {title}.{ext}`. Rules checked on save (`template_problem`):
- only the known fields (`FIELDS`), without attribute or index access, conversions or nested fields;
- a format spec of fill/align, zero, width and precision only, each at most `MAX_WIDTH` (a width of 999999999
  would build a gigabyte string);
- no `.` or `..` directory and no absolute path: the template cannot leave the library folder;
- the file name uses `{ext}`.
Values are cleaned before they are put in the template, and each rendered component again after, so a title such
as `../../etc` can never add a directory. The component rules, in order:
- NFC normalization, so "é" typed two ways is one name;
- NUL and control characters dropped; separators and characters Windows reserves (`<>:"/\\|?*`) become `_`;
- leading and trailing spaces removed, trailing dots removed (Windows drops them silently), a leading dot becomes
  `_` (no hidden files, and never `.` or `..`);
- Windows device names (`CON`, `nul.txt`, `COM1` …) get a `_` suffix;
- at most 255 bytes in UTF-8, cut at a character boundary, keeping the file extension.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_PATH_TEMPLATE",
    "FIELDS",
    "MAX_COMPONENT_BYTES",
    "MAX_WIDTH",
    "SAMPLE",
    "PathValues",
    "preview",
    "render_path",
    "safe_component",
    "template_problem",
    "truncate_utf8",
]

DEFAULT_PATH_TEMPLATE = "{albumartist}/{album} ({year})/{disc}-{track:02} {title}.{ext}"
MAX_COMPONENT_BYTES = 255
MAX_WIDTH = 255
FIELDS = ("albumartist", "artist", "album", "title", "ext", "year", "track", "disc")
_SPEC = re.compile(r"(?:.?[<>=^])?0?(?P<width>\d+)?(?:\.(?P<precision>\d+))?[sd]?", re.DOTALL)


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


def truncate_utf8(text: str, limit: int) -> str:
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
    stem = truncate_utf8(stem, MAX_COMPONENT_BYTES - len(suffix.encode())).rstrip(". ") or "_"
    return stem + suffix


def render_path(template: str, values: PathValues) -> str:
    """Fill `template` (str.format fields, `/` between directories) and return a safe relative POSIX path."""
    problem = template_problem(template)
    if problem is not None:
        raise ValueError(problem)
    fields = values.as_fields()
    parts = [p for p in template.replace("\\", "/").split("/") if p.strip()]
    out: list[str] = []
    for i, part in enumerate(parts):
        rendered = _format(part, fields)
        out.append(safe_component(rendered, keep_suffix=i == len(parts) - 1))
    return "/".join(out)


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


SAMPLE = PathValues(
    albumartist="Boards of Canada",
    artist="Boards of Canada",
    album="Music Has the Right to Children",
    title="Roygbiv",
    ext="flac",
    year=1998,
    track=7,
    disc=1,
)
"""The track a template's preview is rendered with."""


def template_problem(template: str) -> str | None:
    """Why `template` cannot be used (a sentence for the person who wrote it), or None when it can."""
    if len(template) > 500:
        return "the path template is longer than 500 characters"
    if template.startswith(("/", "\\", "~")) or re.match(r"[A-Za-z]:", template):
        return "the path template must be relative to the library folder (no leading /, \\, ~ or drive letter)"
    parts = [p for p in template.replace("\\", "/").split("/") if p.strip()]
    if not parts:
        return "the path template names no file"
    for part in parts:
        if part.strip() in (".", ".."):
            return f"the path template may not contain a {part.strip()!r} directory (it would leave the library)"
        try:
            parsed = list(string.Formatter().parse(part))
        except ValueError as exc:
            return f"the path template has unbalanced braces in {part!r}: {exc}"
        for _, field, spec, conversion in parsed:
            if field is None:
                continue
            if field not in FIELDS:
                return f"the path template uses an unknown field {{{field}}}; known: {', '.join(FIELDS)}"
            if conversion is not None:
                return f"the path template may not convert {{{field}!{conversion}}}"
            match = _SPEC.fullmatch(spec or "")
            if match is None or "{" in (spec or ""):
                return f"the format {{{field}:{spec}}} is not fill, align, width and precision"
            for name in ("width", "precision"):
                if int(match.group(name) or 0) > MAX_WIDTH:
                    return f"the {name} in {{{field}:{spec}}} is larger than {MAX_WIDTH}"
    if "{ext}" not in parts[-1]:
        return "the file name (after the last /) must use {ext}"
    return None


def preview(template: str) -> str:
    """The path `SAMPLE` gets under `template` (which must be valid)."""
    return render_path(template, SAMPLE)
