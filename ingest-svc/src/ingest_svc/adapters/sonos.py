"""Sonos speakers through SoCo: group topology, transport state, current track, the speaker's music services.

SoCo is synchronous (requests underneath), so each call runs in a worker thread. Its request timeout is set once
from the settings: a speaker that is off answers nothing, and a poll must not wait SoCo's default 20 s for it.
A SoCo instance is a singleton per address, so the topology (ZoneGroupState, cached by SoCo for a few seconds)
is shared by every speaker of a household.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar
from xml.etree.ElementTree import ParseError

import requests
import soco  # type: ignore[import-untyped]
from soco import config as soco_config
from soco.exceptions import SoCoException  # type: ignore[import-untyped]
from soco.xml import XML  # type: ignore[import-untyped]

from ..ports import SpeakerState, SpeakerUnreachable, SpeakerWhere

__all__ = ["SocoNetwork", "address_of", "parse_address", "parse_hms", "parse_service_list"]

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_PORT = 1400
_STREAM_CONTENT = "{urn:schemas-rinconnetworks-com:metadata-1-0/}streamContent"


def parse_address(address: str) -> tuple[str, int]:
    """`192.168.1.20` or `192.168.1.20:1400` → (host, port)."""
    host, sep, port = address.strip().rpartition(":")
    if not sep:
        return address.strip(), DEFAULT_PORT
    return host, int(port)


def address_of(speaker: Any) -> str:
    port = int(getattr(speaker, "port", DEFAULT_PORT))
    return speaker.ip_address if port == DEFAULT_PORT else f"{speaker.ip_address}:{port}"


def parse_hms(value: str | None) -> float | None:
    """Sonos times are `H:MM:SS`; `NOT_IMPLEMENTED` or an empty value is unknown."""
    if not value or ":" not in value:
        return None
    try:
        seconds = 0.0
        for part in value.split(":"):
            seconds = seconds * 60 + float(part)
    except ValueError:
        return None
    return seconds


def parse_service_list(descriptor_xml: str) -> dict[int, str]:
    """`AvailableServiceDescriptorList`: `<Services><Service Id="12" Name="Spotify" …/>…</Services>`."""
    root = XML.fromstring(descriptor_xml.encode("utf-8"))
    services: dict[int, str] = {}
    for service in root.iter("Service"):
        sid, name = service.get("Id"), service.get("Name")
        if sid and name and sid.isdigit():
            services[int(sid)] = name
    return services


def _stream_content(metadata: str) -> str | None:
    if not metadata or metadata == "NOT_IMPLEMENTED":
        return None
    text = XML.fromstring(metadata.encode("utf-8")).findtext(f".//{_STREAM_CONTENT}")
    return text or None


class SocoNetwork:
    def __init__(self, timeout_s: float = 5.0, services_ttl_s: float = 3600.0, discover_timeout_s: float = 5.0):
        soco_config.REQUEST_TIMEOUT = timeout_s
        self.services_ttl_s = services_ttl_s
        self.discover_timeout_s = discover_timeout_s
        self._services: dict[str, tuple[float, dict[int, str]]] = {}

    @staticmethod
    def _speaker(address: str) -> Any:
        host, port = parse_address(address)
        return soco.SoCo(host) if port == DEFAULT_PORT else soco.SoCo(host, port)

    @staticmethod
    async def _call(address: str, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except (requests.RequestException, OSError, SoCoException) as exc:
            raise SpeakerUnreachable(f"{address}: {type(exc).__name__}: {exc}") from exc

    async def locate(self, address: str) -> SpeakerWhere:
        def read() -> SpeakerWhere:
            speaker = self._speaker(address)
            group = speaker.group
            if group is None or group.coordinator is None:  # the slave of a stereo pair: its partner plays
                coordinator, members = speaker, {speaker}
            else:
                coordinator, members = group.coordinator, set(group.members)
            return SpeakerWhere(
                address=address,
                uid=speaker.uid,
                room=speaker.player_name,
                coordinator_address=address_of(coordinator),
                coordinator_uid=coordinator.uid,
                coordinator_room=coordinator.player_name,
                group_rooms=tuple(sorted({m.player_name for m in members if m.is_visible})),
            )

        return await self._call(address, read)

    async def state(self, address: str) -> SpeakerState:
        def read() -> SpeakerState:
            speaker = self._speaker(address)
            transport = speaker.get_current_transport_info()
            track = speaker.get_current_track_info()
            media = speaker.get_current_media_info()
            return SpeakerState(
                state=transport["current_transport_state"],
                uri=track.get("uri") or "",
                queue_position=str(track.get("playlist_position") or ""),
                title=track.get("title") or None,
                artist=track.get("artist") or None,
                album=track.get("album") or None,
                duration_s=parse_hms(track.get("duration")),
                position_s=parse_hms(track.get("position")),
                stream_content=_stream_content(track.get("metadata") or ""),
                station=media.get("channel") or None,
            )

        try:
            return await self._call(address, read)
        except ParseError as exc:  # metadata a speaker sent broken: a fault of this poll, not an absent speaker
            raise ValueError(f"{address}: unreadable track metadata: {exc}") from exc

    async def services(self, address: str) -> dict[int, str]:
        cached = self._services.get(address)
        if cached and cached[0] > time.monotonic():
            return cached[1]

        def read() -> dict[int, str]:
            answer = self._speaker(address).musicServices.ListAvailableServices()
            return parse_service_list(answer["AvailableServiceDescriptorList"])

        services = await self._call(address, read)
        self._services[address] = (time.monotonic() + self.services_ttl_s, services)
        return services

    async def discover(self) -> list[str]:
        """SoCo's SSDP discovery on the local network (never a network scan)."""
        found = await asyncio.to_thread(soco.discover, timeout=self.discover_timeout_s, allow_network_scan=False)
        return sorted(address_of(s) for s in (found or ()))
