"""Direct URLs: only http(s), no private/loopback/link-local targets (also after a redirect), a size cap."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from acquire_fakes import make_track
from acquire_svc.backends.url import UnsafeUrl, UrlBackend, check_url
from acquire_svc.ports import CandidateRefused, Wanted
from contracts.acquire import RejectionReason
from tests.support.audio import make_audio
from tests.support.fakeweb import FakeWeb, Reply


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/a.mp3",
        "gopher://127.0.0.1/",
        "http://127.0.0.1:8080/a.mp3",
        "http://localhost/a.mp3",
        "http://10.1.2.3/a.mp3",
        "http://192.168.0.10/a.mp3",
        "http://172.16.5.4/a.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/a.mp3",
        "http://[fe80::1]/a.mp3",
        "http://[::ffff:127.0.0.1]/a.mp3",
        # IPv6 forms that carry an IPv4 address and reach it: judged by the address inside
        "http://[::127.0.0.1]/a.mp3",  # IPv4-compatible
        "http://[::10.0.0.1]/a.mp3",
        "http://[64:ff9b::7f00:1]/a.mp3",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::c0a8:1]/a.mp3",  # local-use NAT64 of 192.168.0.1
        "http://[2002:7f00:1::]/a.mp3",  # 6to4 of 127.0.0.1
        "http://[2002:a00:1::1]/a.mp3",  # 6to4 of 10.0.0.1
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/a.mp3",  # Teredo, client 127.0.0.1
        "http://0.0.0.0/a.mp3",
        "http:///a.mp3",
    ],
)
async def test_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        await check_url(url, allow_private=False)


async def test_public_address_passes_the_check() -> None:
    await check_url("http://93.184.215.14/a.mp3", allow_private=False)


def want_with(url: str) -> Wanted:
    t = make_track()
    return Wanted(t.recording_mbid, t.title, t.artist, [t.artist], t.album, 3.0, source_url=url)


async def progress(done: int) -> None:
    return None


async def test_download_with_cap_and_redirect_checks(tmp_path: Path) -> None:
    data = make_audio(tmp_path / "a.mp3", "mp3", 3.0).read_bytes()
    work = tmp_path / "work"
    work.mkdir()
    with FakeWeb() as web:
        web.reply("GET", "/song.mp3", Reply.raw(data, content_type="audio/mpeg"))
        web.reply("GET", "/go", Reply(302, headers={"Location": "/song.mp3"}))
        web.reply("GET", "/sneaky", Reply(302, headers={"Location": "file:///etc/passwd"}))
        async with httpx.AsyncClient() as client:
            refusing = UrlBackend(client, max_bytes=10_000_000)
            (cand,) = await refusing.search(want_with(web.url("/song.mp3")))
            with pytest.raises(CandidateRefused, match="refused"):
                await refusing.fetch(cand, work, progress)
            assert web.requests == []  # refused before any request

            allowing = UrlBackend(client, max_bytes=10_000_000, allow_private=True)
            (cand,) = await allowing.search(want_with(web.url("/go")))
            path = await allowing.fetch(cand, work, progress)
            assert path.read_bytes() == data and path.suffix == ".mp3"

            small = UrlBackend(client, max_bytes=1000, allow_private=True)
            with pytest.raises(CandidateRefused) as too_large:
                await small.fetch(cand, work, progress)
            assert too_large.value.reason is RejectionReason.TOO_LARGE

            # every redirect hop is checked again
            (cand,) = await allowing.search(want_with(web.url("/sneaky")))
            with pytest.raises(CandidateRefused, match="only http"):
                await allowing.fetch(cand, work, progress)
    assert await UrlBackend(httpx.AsyncClient(), max_bytes=1).search(want_with("")) == []
