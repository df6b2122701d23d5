"""Subsonic response envelopes the gateway writes itself (errors, and the unauthenticated extensions list).

`f=json`, `f=xml` (the default) and `f=jsonp&callback=name`, answered as the built-in API and Navidrome answer them:
jsonp is the JSON envelope wrapped in `name(...);` as application/javascript. A jsonp request without a callback, or
with one that is not a plain JavaScript name (`cb`, `jQuery123_456`, `ns.cb`), is answered with error 10 in XML
(`jsonp_problem`, before anything is relayed): the rule is `contracts.jsonp`, the one library-svc applies too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from contracts.jsonp import callback_problem, wrap

from .. import __version__

__all__ = ["API_VERSION", "Format", "envelope", "error", "jsonp_problem"]

API_VERSION = "1.16.1"


@dataclass(frozen=True, slots=True)
class Format:
    kind: str
    """'xml', 'json' or 'jsonp'."""
    callback: str | None = None

    @classmethod
    def of(cls, params: Mapping[str, str]) -> Format:
        """The format a client asked for with `f` (and `callback`)."""
        asked = params.get("f")
        if asked == "json":
            return _JSON
        if asked == "jsonp":
            callback = params.get("callback")
            if callback_problem(callback) is None:
                return cls("jsonp", callback)
        return _XML


_JSON, _XML = Format("json"), Format("xml")


def jsonp_problem(params: Mapping[str, str]) -> str | None:
    """The text of error 10 for `f=jsonp` with a missing or unsafe callback; None for any other request."""
    return callback_problem(params.get("callback")) if params.get("f") == "jsonp" else None


def envelope(fmt: Format | str, status: str, extra: dict[str, Any] | None = None) -> tuple[bytes, str]:
    if isinstance(fmt, str):
        fmt = Format(fmt)
    body: dict[str, Any] = {
        "status": status,
        "version": API_VERSION,
        "type": "brainstream",
        "serverVersion": __version__,
        "openSubsonic": True,
        **(extra or {}),
    }
    if fmt.kind == "json":
        return json.dumps({"subsonic-response": body}).encode(), "application/json"
    if fmt.kind == "jsonp" and fmt.callback:
        return wrap(fmt.callback, json.dumps({"subsonic-response": body})), "application/javascript"
    attrs = " ".join(
        f"{k}={quoteattr(str(v).lower() if isinstance(v, bool) else str(v))}"
        for k, v in body.items()
        if not isinstance(v, (dict, list))
    )
    inner = ""
    for key, value in (extra or {}).items():
        if isinstance(value, dict):
            inner += f"<{key} " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in value.items()) + "/>"
        elif isinstance(value, list):
            for item in value:
                versions = "".join(f"<versions>{v}</versions>" for v in item.get("versions", []))
                inner += f"<{key} name={quoteattr(item['name'])}>{versions}</{key}>"
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<subsonic-response xmlns="http://subsonic.org/restapi"'
    xml = f"{head} {attrs}>{inner}</subsonic-response>"
    return xml.encode(), "application/xml; charset=utf-8"


def error(fmt: Format | str, code: int, message: str) -> tuple[bytes, str]:
    return envelope(fmt, "failed", {"error": {"code": code, "message": message}})
