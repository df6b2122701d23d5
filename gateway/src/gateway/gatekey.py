"""The `request_gate` key of a manual request: one per wanted thing, whoever asks and however it is spelled."""

from __future__ import annotations

import hashlib

from contracts.common import TrackQuery
from infra.textfold import match_key

__all__ = ["request_key"]


def _norm(text: str | None) -> str:
    # the shared match key: "Beyoncé" and "Beyonce", "Salt & Pepper" and "Salt and Pepper" are one request
    return match_key(text or "")


def request_key(query: TrackQuery, url: str | None) -> str:
    if query.recording_mbid:
        return f"mbid.{query.recording_mbid}"
    if url:
        return "url." + hashlib.sha256(url.strip().encode()).hexdigest()[:40]
    text = "\x1f".join((_norm(query.artist), _norm(query.title), _norm(query.album)))
    return "text." + hashlib.sha256(text.encode()).hexdigest()[:40]
