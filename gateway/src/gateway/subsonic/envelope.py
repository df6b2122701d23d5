"""Subsonic response envelopes the gateway writes itself (errors, and the unauthenticated extensions list)."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import quoteattr

from .. import __version__

__all__ = ["API_VERSION", "envelope", "error"]

API_VERSION = "1.16.1"


def envelope(fmt: str, status: str, extra: dict[str, Any] | None = None) -> tuple[bytes, str]:
    body: dict[str, Any] = {
        "status": status,
        "version": API_VERSION,
        "type": "brainstream",
        "serverVersion": __version__,
        "openSubsonic": True,
        **(extra or {}),
    }
    if fmt == "json":
        return json.dumps({"subsonic-response": body}).encode(), "application/json"
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


def error(fmt: str, code: int, message: str) -> tuple[bytes, str]:
    return envelope(fmt, "failed", {"error": {"code": code, "message": message}})
