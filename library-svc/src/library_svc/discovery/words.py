"""How the lifecycle's decisions are named and read: their event ids, sizes, counts, durations and keep reasons in
words, and a tombstone's value.

Used by the decisions (`service.py`, `trash.py`) for the events they publish, the log and the `discovery_gate` KV.
"""

from __future__ import annotations

import uuid

from contracts.discovery import KeepReason

from .store import Track

_NS = uuid.UUID("9a4e1f0c-2b6d-5e3a-8c71-4d2f0b9e6a15")


def decision_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(_NS, ":".join(parts))


def _size(n: int) -> str:
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _tombstone(reason: str, track: Track) -> dict[str, str]:
    return {"reason": reason, "artist": track.artist, "track_id": track.track_id}


def _words(reason: KeepReason) -> str:
    return {KeepReason.KEPT_IN_UI: "kept in the web UI"}.get(reason, reason.value.replace("_", " "))


def _duration(seconds: float) -> str:
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s % size == 0 and s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"
