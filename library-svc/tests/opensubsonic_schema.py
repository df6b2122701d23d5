"""Validate a JSON answer against the OpenSubsonic schema of its endpoint (copied into ./opensubsonic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["validate"]

ROOT = Path(__file__).parent / "opensubsonic"
_SAME_AS = {"getAlbumInfo2": "getAlbumInfo"}
"""Endpoints the description answers with another's response (getAlbumInfo2 returns `albumInfo` too)."""


def _retrieve(uri: str) -> Resource:
    # the files carry no $schema: read as draft 2020-12, the dialect of OpenAPI 3.1
    return Resource.from_contents(json.loads(Path(uri.removeprefix("file://")).read_text()), DRAFT202012)


def validate(endpoint: str, answer: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` unless `answer` (the whole JSON body) fits the endpoint's success schema.

    Endpoints that answer an empty success (createBookmark, …) are checked against the common wrapper."""
    folder = ROOT / "endpoints" / _SAME_AS.get(endpoint, endpoint)
    found = sorted(folder.glob("*SuccessResponse.json")) if folder.is_dir() else []
    if found:
        path, body = found[0], answer["subsonic-response"]
    else:
        path, body = ROOT / "schemas" / "SubsonicResponse.json", answer
    registry: Registry = Registry(retrieve=_retrieve)  # type: ignore[call-arg]
    schema = {"$ref": path.resolve().as_uri()}
    Draft202012Validator(schema, registry=registry).validate(body)
