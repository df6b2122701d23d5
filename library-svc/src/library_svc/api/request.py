"""One Subsonic request: parameters from the query string and a form body, repeated keys kept, read with the
Subsonic error codes for a missing or malformed parameter."""

from __future__ import annotations

from dataclasses import dataclass

from .render import SubsonicError

__all__ = ["Request"]


@dataclass
class Request:
    method: str
    user: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    http_method: str = "GET"

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return self.params.get(name, [])

    def need(self, name: str) -> str:
        value = self.get(name)
        if value is None or value == "":
            raise SubsonicError(10, f"Required parameter is missing: {name}")
        return value

    def num(self, name: str, default: int, *, lo: int = 0, hi: int | None = None) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise SubsonicError(0, f"Parameter {name} must be a number, got {raw!r}") from exc
        value = max(lo, value)
        return min(hi, value) if hi is not None else value

    def opt_int(self, name: str) -> int | None:
        raw = self.get(name)
        return None if raw in (None, "") else self.num(name, 0, lo=-(10**12))

    def flag(self, name: str, default: bool) -> bool:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        return raw.lower() in ("true", "1", "yes")
