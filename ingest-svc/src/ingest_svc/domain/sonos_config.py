"""Which speakers to watch and whose listens they are: parsing of the settings, and the user of a speaker."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["SonosConfig", "parse_speakers", "parse_user_map"]

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_USER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _speaker(text: str) -> str:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, ""
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{text!r}: the port must be a number from 1 to 65535")
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        if not _HOST.match(host):
            raise ValueError(f"{text!r} is not an IPv4 address or a host name") from None
    return text


def parse_speakers(text: str | Iterable[str]) -> list[str]:
    """`192.168.1.20, 192.168.1.21:1400` → the addresses, in order, without duplicates; empty items are ignored."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in (i.strip() for i in items):
        if item and _speaker(item) not in out:
            out.append(item)
    return out


def parse_user_map(text: str | dict[str, str]) -> dict[str, str]:
    """`Living Room=alice, 192.168.1.21=bob` → {room or address (folded): user}."""
    pairs = list(text.items()) if isinstance(text, dict) else []
    if isinstance(text, str):
        for item in (i.strip() for i in text.split(",")):
            if not item:
                continue
            where, sep, user = item.partition("=")
            if not sep or not where.strip():
                raise ValueError(f"{item!r}: write room-or-address=user")
            pairs.append((where, user))
    users: dict[str, str] = {}
    for where, user in pairs:
        if not _USER.match(user.strip()):
            raise ValueError(f"{user!r} is not a user name (letters, digits, '_' and '-')")
        users[where.strip().casefold()] = user.strip()
    return users


@dataclass(frozen=True)
class SonosConfig:
    speakers: list[str] = field(default_factory=list)
    discover: bool = False
    interval_s: float = 10.0
    users: dict[str, str] = field(default_factory=dict)
    default_user: str = "admin"

    @property
    def enabled(self) -> bool:
        return bool(self.speakers) or self.discover

    def user_of(self, *places: str) -> str:
        """The user mapped to the first of `places` (rooms or addresses) that has one, else the default user."""
        for place in places:
            user = self.users.get(place.strip().casefold())
            if user:
                return user
        return self.default_user
