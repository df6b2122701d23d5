"""Subsonic responses as XML (default), JSON and JSONP from one tree of dicts and lists.

A payload is a dict: scalar values become XML attributes (JSON keeps their native types), dicts become child
elements, lists become repeated elements (always arrays in JSON, even with one item), and the key `value` is an
element's text (a genre's name, a lyric). None values are left out.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.jsonp import callback_problem, wrap

__all__ = ["API_VERSION", "ERRORS", "Lazy", "SubsonicError", "envelope", "escape", "render"]

API_VERSION = "1.16.1"
SERVER_TYPE = "brainstream"
_NS = "http://subsonic.org/restapi"

ERRORS = {
    0: "A generic error.",
    10: "Required parameter is missing.",
    20: "Incompatible Subsonic REST protocol version. Client must upgrade.",
    30: "Incompatible Subsonic REST protocol version. Server must upgrade.",
    40: "Wrong username or password.",
    50: "User is not authorized for the given operation.",
    70: "The requested data was not found.",
}


class SubsonicError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or ERRORS.get(code, "error"))
        self.code = code
        self.message = message or ERRORS.get(code, "error")


class Lazy:
    """An item of a payload list that writes its own XML element (and builds its dict only for JSON)."""

    __slots__ = ()

    def xml(self, name: str) -> str:
        raise NotImplementedError

    def as_dict(self) -> dict[str, Any]:
        raise NotImplementedError


def envelope(payload: dict[str, Any], *, server_version: str, failed: bool = False) -> dict[str, Any]:
    head: dict[str, Any] = {
        "status": "failed" if failed else "ok",
        "version": API_VERSION,
        "type": SERVER_TYPE,
        "serverVersion": server_version,
        "openSubsonic": True,
    }
    head.update(payload)
    return head


# XML 1.0 cannot carry most control characters at all: they are dropped; the rest is escaped in one C-level pass
_ESCAPE_MAP: dict[str | int, str | None] = {c: None for c in range(32) if c not in (9, 10, 13)}
_ESCAPE = str.maketrans(
    {
        **_ESCAPE_MAP,
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def escape(text: str) -> str:
    # the hot path of every XML answer: most strings are printable (no control characters) and hold none of
    # &<>" — cheaper to check with four C-level scans than to translate; anything else is translated
    if text.isprintable() and not ("&" in text or "<" in text or ">" in text or '"' in text):
        return text
    return text.translate(_ESCAPE)


def _attr(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return escape(value)
    return str(value)


def _xml_element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, Lazy):
                out.append(item.xml(name))
            else:
                _xml_element(name, item, out)
        return
    if not isinstance(value, dict):
        out.append(f"<{name}>{_attr(value)}</{name}>")
        return
    parts = [f"<{name}"]
    children: list[tuple[str, Any]] = []
    text: str | None = None
    for key, item in value.items():
        if key == "value":
            text = None if item is None else _attr(item)
            continue
        kind = type(item)
        # inlined `_attr`: this loop runs for every attribute of every answer
        if kind is str:
            parts.append(f' {key}="{escape(item)}"')
        elif kind is int or kind is float:
            parts.append(f' {key}="{item}"')
        elif kind is bool:
            parts.append(f' {key}="true"' if item else f' {key}="false"')
        elif item is None:
            continue
        elif kind is dict or kind is list:
            children.append((key, item))
        else:
            parts.append(f' {key}="{_attr(item)}"')
    if not children and text is None:
        parts.append("/>")
        out.append("".join(parts))
        return
    parts.append(">")
    out.append("".join(parts))
    if text is not None:
        out.append(text)
    for key, item in children:
        _xml_element(key, item, out)
    out.append(f"</{name}>")


def _strip_none(value: Any) -> Any:
    if isinstance(value, Lazy):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(v) for v in value]
    return value


def render(body: dict[str, Any], fmt: str, callback: str | None) -> tuple[bytes, str]:
    """(bytes, content type) of a `subsonic-response` body in the requested format."""
    if fmt == "json":
        return json.dumps({"subsonic-response": _strip_none(body)}, ensure_ascii=False).encode(), "application/json"
    if fmt == "jsonp" and callback_problem(callback) is None:
        text = json.dumps({"subsonic-response": _strip_none(body)}, ensure_ascii=False)
        return wrap(str(callback), text), "application/javascript"
    out = ['<?xml version="1.0" encoding="UTF-8"?>']
    attrs = {"xmlns": _NS, **body}
    _xml_element("subsonic-response", attrs, out)
    return "".join(out).encode(), "application/xml; charset=utf-8"
