"""Transcoding and resized covers over real HTTP, with real ffmpeg and real files (py-opensonic and raw calls)."""

from __future__ import annotations

import asyncio
import io
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from libopensonic import Connection
from library_engines import open_engine
from library_fakes import MemoryOwned, RecordingPublisher
from library_server import ApiServer
from mutagen.mp3 import MP3
from mutagen.oggopus import OggOpus
from PIL import Image

from library_svc.adapters.catalog import SqlCatalog
from library_svc.domain.transcoding import PlayerRule
from library_svc.media.support import Media
from library_svc.scanning import Scanner
from tests.support.audio import make_audio

TAGS = {
    "title": "Tide",
    "artist": "Cold Harbour",
    "album": "Night Drive",
    "replaygain_track_gain": "-7.25 dB",
    "replaygain_track_peak": "0.988",
    "lyrics": "first line\nsecond line",
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("media")
    root = folder / "music"
    make_audio(root / "Cold Harbour" / "Night Drive" / "01 Tide.flac", "flac", 12.0, tags=TAGS)
    # long enough that its transcode cannot finish into the socket buffers before the client hangs up
    long_tags = {**TAGS, "title": "Long Tide", "album": "Long Drive"}
    make_audio(root / "Cold Harbour" / "Long Drive" / "01 Long Tide.flac", "flac", 600.0, tags=long_tags)
    Image.new("RGB", (600, 400), (200, 30, 30)).save(root / "Cold Harbour" / "Night Drive" / "cover.jpg")
    media = Media.build(
        folder / "cache",
        rules=[PlayerRule(user="*", client="LowBand", format="opus", max_bitrate=48)],
    )
    with open_engine("sqlite", folder) as engine:
        publish = RecordingPublisher()
        scanner = Scanner(root, SqlCatalog(engine), publish, MemoryOwned())
        asyncio.run(scanner.scan())
        with ApiServer(engine, root, scanner, publish, media=media) as server:
            yield server


@pytest.fixture
def client(api: ApiServer) -> Iterator[Connection]:
    conn = Connection("http://127.0.0.1", username="ann", password="unused", port=api.port)
    yield conn
    conn.cleanup()


def song_id(client: Connection, title: str) -> tuple[str, Any]:
    found = client.search3(title, artist_count=0, album_count=0, song_count=5).song or []
    match = next(s for s in found if s.title == title)
    return match.id, match


def get(api: ApiServer, method: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{api.url}/rest/{method}", params=params, headers={"X-Brainstream-User": "ann"}, timeout=60)


def media(api: ApiServer) -> Media:
    found: Media = api.ctx.media
    return found


def test_flac_as_mp3_at_128_with_its_tags(api: ApiServer, client: Connection) -> None:
    sid, song = song_id(client, "Tide")
    assert song.suffix == "flac"
    resp = client.stream(sid, max_bit_rate=128, tformat="mp3")
    data = asyncio.run_coroutine_threadsafe(resp.read(), client._loop).result()
    assert resp.status == 200 and resp.headers["Content-Type"] == "audio/mpeg"
    mp3 = MP3(io.BytesIO(data))
    assert mp3.info.bitrate <= 128_000
    assert abs(mp3.info.length - 12.0) < 0.5
    tags = mp3.tags
    assert tags is not None
    assert str(tags["TXXX:REPLAYGAIN_TRACK_GAIN"].text[0]) == "-7.25 dB"
    assert str(tags["TXXX:REPLAYGAIN_TRACK_PEAK"].text[0]) == "0.988"
    assert tags.getall("USLT")[0].text == "first line\nsecond line"
    assert str(tags["TIT2"].text[0]) == "Tide"


def test_time_offset_starts_later(api: ApiServer, client: Connection) -> None:
    sid, _ = song_id(client, "Tide")
    assert "transcodeOffset" in {e.name for e in client.get_open_subsonic_extensions()}
    resp = get(api, "stream", id=sid, format="mp3", maxBitRate=96, timeOffset=5)
    assert resp.status_code == 200
    assert abs(MP3(io.BytesIO(resp.content)).info.length - 7.0) < 0.5


def test_second_request_served_from_cache(api: ApiServer, client: Connection) -> None:
    sid, _ = song_id(client, "Tide")
    first = get(api, "stream", id=sid, format="mp3", maxBitRate=64)
    assert first.status_code == 200 and "content-length" not in first.headers  # made while sent
    runs = len(media(api).transcoder.ended)
    assert media(api).transcoder.ended[-1].outcome == "complete"
    second = get(api, "stream", id=sid, format="mp3", maxBitRate=64)
    assert second.content == first.content
    assert int(second.headers["content-length"]) == len(first.content)  # a finished file: length and ranges
    assert len(media(api).transcoder.ended) == runs  # no ffmpeg ran for it
    part = httpx.get(
        f"{api.url}/rest/stream",
        params={"id": sid, "format": "mp3", "maxBitRate": 64},
        headers={"X-Brainstream-User": "ann", "Range": "bytes=100-199"},
    )
    assert part.status_code == 206 and part.content == first.content[100:200]


def test_estimated_content_length_is_kept_exactly(api: ApiServer, client: Connection) -> None:
    sid, _ = song_id(client, "Tide")
    params = {"id": sid, "format": "mp3", "maxBitRate": 96, "estimateContentLength": "true", "timeOffset": 1}
    resp = get(api, "stream", **params)
    assert resp.status_code == 200
    promised = int(resp.headers["content-length"])
    assert len(resp.content) == promised  # cut or padded to what was promised
    assert abs(promised - 11 * 96 * 125) < 2000  # 11 s at 96 kbps, plus the tag
    assert abs(MP3(io.BytesIO(resp.content)).info.length - 11.0) < 0.5


def test_client_that_hangs_up_kills_ffmpeg(api: ApiServer, client: Connection) -> None:
    sid, _ = song_id(client, "Long Tide")
    transcoder = media(api).transcoder
    earlier = set(transcoder.running)  # a transcode cut short by the test before may still be being reaped
    params = {"id": sid, "format": "mp3", "maxBitRate": 320}
    with httpx.stream(
        "GET", f"{api.url}/rest/stream", params=params, headers={"X-Brainstream-User": "ann"}, timeout=60
    ) as resp:
        assert resp.status_code == 200
        first = next(resp.iter_bytes())
        assert first[:3] == b"ID3"
        pids = list(set(transcoder.running) - earlier)
        assert len(pids) == 1
    pid = pids[0]

    def ended() -> list[str]:
        return [e.outcome for e in list(transcoder.ended) if e.pid == pid]

    for _ in range(400):  # bounded wait: the server notices the hang-up and kills ffmpeg
        if ended() and not transcoder.running:
            break
        threading.Event().wait(0.05)
    assert not transcoder.running and ended() == ["killed"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not [p for p in transcoder.cache.folder.iterdir() if p.name.endswith(".part")]  # nothing half kept


def test_opus_keeps_vorbis_comments_and_player_defaults_apply(api: ApiServer, client: Connection) -> None:
    sid, _ = song_id(client, "Tide")
    resp = get(api, "stream", id=sid, c="LowBand")  # the rule for this client: opus at 48 kbps
    assert resp.status_code == 200 and resp.headers["content-type"] == "audio/ogg"
    opus = OggOpus(io.BytesIO(resp.content))
    assert opus.tags["replaygain_track_gain"] == ["-7.25 dB"]
    assert opus.tags["lyrics"] == ["first line\nsecond line"]
    assert opus.info.bitrate <= 80_000  # 48 kbps VBR (a pure tone runs over it), far from the default 128
    aac = get(api, "stream", id=sid, format="aac", maxBitRate=96)
    assert aac.headers["content-type"] == "audio/aac" and aac.content[:3] == b"ID3"


def test_raw_and_unknown_formats(api: ApiServer, client: Connection) -> None:
    sid, song = song_id(client, "Tide")
    raw = get(api, "stream", id=sid, format="raw", maxBitRate=64)
    assert raw.headers["content-type"] == "audio/flac" and len(raw.content) == song.size
    bad = get(api, "stream", id=sid, format="wav", f="json").json()["subsonic-response"]
    assert bad["status"] == "failed" and "wav" in bad["error"]["message"]
    download = get(api, "download", id=sid, format="mp3", maxBitRate=64)
    assert len(download.content) == song.size  # download is never transcoded


def test_cover_resized_and_cached(api: ApiServer, client: Connection, tmp_path: Path) -> None:
    album = client.search3("Night Drive", artist_count=0, album_count=1, song_count=0).album[0]  # type: ignore[index]
    covers = media(api).covers
    resp = client.get_cover_art(album.cover_art, size=64)
    data = asyncio.run_coroutine_threadsafe(resp.read(), client._loop).result()
    img = Image.open(io.BytesIO(data))
    assert max(img.size) == 64 and img.size == (64, 43)  # fitted, proportions kept
    hits = covers.hits
    again = get(api, "getCoverArt", id=album.cover_art, size=64)
    assert again.content == data and again.headers["content-type"] == "image/jpeg"
    assert covers.hits == hits + 1
    full = get(api, "getCoverArt", id=album.cover_art)
    assert Image.open(io.BytesIO(full.content)).size == (600, 400)
    bigger = get(api, "getCoverArt", id=album.cover_art, size=1000)
    assert Image.open(io.BytesIO(bigger.content)).size == (600, 400)  # never enlarged
