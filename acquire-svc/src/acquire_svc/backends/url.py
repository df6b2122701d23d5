"""A direct URL given with a manual request.

SSRF guard: only http(s); the host's every resolved address must be public (not private, loopback, link-local,
multicast, reserved or unspecified) unless `allow_private` is set; each redirect hop is checked the same way, and
the body is cut off at the size cap. Remaining gap, stated plainly: the name is resolved again by the HTTP client, so
a DNS server that answers differently between the check and the connect (rebinding) is not stopped here.

The download streams to disk, which `infra.http.ApiClient` (a JSON API client that reads whole bodies) does not
do; the client used here is built in the composition root with the same User-Agent and timeouts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from contracts.acquire import RejectionReason
from infra.http import SourceUnavailable

from ..ports import Candidate, CandidateRefused, Progress, Wanted
from . import AUDIO_SUFFIXES

__all__ = ["APage", "UnsafeUrl", "UrlBackend", "check_url", "embedded_ipv4"]

_MAX_REDIRECTS = 5
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})


class UnsafeUrl(ValueError):
    """The URL may not be fetched (scheme, or a private/loopback/link-local target)."""


class APage(CandidateRefused):
    """The URL answers with a web page, not a file: yt-dlp may know what plays on it."""

    def __init__(self, url: str) -> None:
        super().__init__(RejectionReason.DOWNLOAD_FAILED, "a web page, not an audio file")
        self.url = url


async def check_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(f"only http(s) URLs are fetched, not {parts.scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the URL names no host")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 0, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeUrl(f"{host} does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        for checked in (address, *embedded_ipv4(address)):
            if not checked.is_global or checked.is_multicast:
                raise UnsafeUrl(f"{host} resolves to {address}, a private, loopback or link-local address")


_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, and reaches through a translator or tunnel.

    `[::ffff:127.0.0.1]` (mapped), `[::127.0.0.1]` (IPv4-compatible), `[64:ff9b::7f00:1]` (NAT64),
    `[2002:7f00:1::]` (6to4) and Teredo all end at the IPv4 inside them, so that address is what must be public."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo is not None:
        found += list(address.teredo)
    value = int(address)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, IPv4-compatible (:: and ::1 are themselves not global)
        found.append(ipaddress.IPv4Address(value))
    if any(address in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return found


class UrlBackend:
    name = "url"

    def __init__(self, client: httpx.AsyncClient, *, max_bytes: int, allow_private: bool = False) -> None:
        self.client = client
        self.max_bytes = max_bytes
        self.allow_private = allow_private

    async def search(self, want: Wanted) -> list[Candidate]:
        if not want.source_url:
            return []
        name = Path(urlsplit(want.source_url).path).stem or want.title
        return [Candidate(self.name, want.source_url, f"{want.artist} - {name}", ref=want.source_url)]

    async def fetch(self, candidate: Candidate, work: Path, progress: Progress) -> Path:
        url: str = candidate.ref
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                await check_url(url, allow_private=self.allow_private)
            except UnsafeUrl as exc:
                raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, f"refused: {exc}") from exc
            try:
                async with self.client.stream("GET", url, follow_redirects=False) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    if resp.status_code >= 500 or resp.status_code == 429:
                        raise SourceUnavailable("url", url, resp.status_code, "unavailable")
                    if resp.status_code >= 400:
                        raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, f"HTTP {resp.status_code}")
                    if resp.headers.get("content-type", "").split(";")[0].strip().lower() in _PAGE_TYPES:
                        raise APage(url)  # never downloaded and validated as if it were audio
                    declared = int(resp.headers.get("content-length") or 0)
                    if declared > self.max_bytes:
                        raise CandidateRefused(RejectionReason.TOO_LARGE, f"{declared} bytes > {self.max_bytes}")
                    suffix = Path(urlsplit(url).path).suffix.lower()
                    dest = work / f"url{suffix if suffix in AUDIO_SUFFIXES else '.bin'}"
                    done = 0
                    with dest.open("wb") as out:
                        async for chunk in resp.aiter_bytes(64 * 1024):
                            done += len(chunk)
                            if done > self.max_bytes:
                                raise CandidateRefused(RejectionReason.TOO_LARGE, f"more than {self.max_bytes} bytes")
                            out.write(chunk)
                            await progress(done)
                    return dest
            except httpx.TransportError as exc:
                raise SourceUnavailable("url", url, None, "connection_failed", str(exc)) from exc
        raise CandidateRefused(RejectionReason.DOWNLOAD_FAILED, f"more than {_MAX_REDIRECTS} redirects")

    async def taken(self, candidate: Candidate) -> None:
        return None
