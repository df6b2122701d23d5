"""The OpenSubsonic API against a real client library (py-opensonic, JSON over form POST) and raw XML/JSON."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from libopensonic import Connection
from libopensonic.errors import SonicError
from library_engines import ENGINES, open_engine
from library_fakes import MemoryOwned, RecordingPublisher
from library_server import ApiServer

from contracts.library import ScrobbleRecorded
from library_svc.adapters.catalog import SqlCatalog
from library_svc.scanning import Scanner
from tests.support.audio import make_library, write_tags

NS = "{http://subsonic.org/restapi}"
N_TRACKS = 12
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


@pytest.fixture(scope="module", params=ENGINES)
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    folder = tmp_path_factory.mktemp("api")
    root = folder / "music"
    paths = make_library(root, N_TRACKS)
    (paths[0].parent / "cover.jpg").write_bytes(JPEG)
    write_tags(paths[1], "flac", {"lyrics": "first line\nsecond line"})
    with open_engine(request.param, folder) as engine:
        publish = RecordingPublisher()
        scanner = Scanner(root, SqlCatalog(engine), publish, MemoryOwned())
        asyncio.run(scanner.scan())
        with ApiServer(engine, root, scanner, publish) as server:
            yield server


@pytest.fixture
def client(api: ApiServer) -> Iterator[Connection]:
    conn = Connection("http://127.0.0.1", username="ann", password="unused", port=api.port)
    yield conn
    conn.cleanup()


def rest(api: ApiServer, method: str, user: str = "ann", **params: Any) -> httpx.Response:
    return httpx.get(f"{api.url}/rest/{method}", params=params, headers={"X-Brainstream-User": user})


def xml(resp: httpx.Response) -> ET.Element:
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/xml")
    return ET.fromstring(resp.content)


def body(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200
    data: dict[str, Any] = resp.json()["subsonic-response"]
    return data


def test_system_endpoints(client: Connection, api: ApiServer) -> None:
    assert client.ping()
    names = {e.name for e in client.get_open_subsonic_extensions()}
    assert "formPost" in names
    assert client.get_user("ann").username == "ann"
    # py-opensonic 10 reads musicFolders as a bare list; the spec (and Navidrome) nest it under musicFolder
    folders = body(rest(api, "getMusicFolders", f="json"))["musicFolders"]["musicFolder"]
    assert folders == [{"id": 1, "name": "Music"}]
    assert client.get_scan_status().scanning is False
    ping = xml(rest(api, "ping.view"))
    assert ping.tag == f"{NS}subsonic-response" and ping.get("status") == "ok" and ping.get("openSubsonic") == "true"


def test_browse_artists_albums_songs(client: Connection, api: ApiServer) -> None:
    artists = [a for index in client.get_artists().index or [] for a in index.artist or []]
    assert len(artists) == 2 and all(isinstance(a.id, str) for a in artists)
    artist = client.get_artist(artists[0].id)
    assert artist.album and len(artist.album) == 2
    album = client.get_album(artist.album[0].id)
    assert album.song and len(album.song) == album.song_count == 4
    assert [s.track for s in album.song] == [1, 2, 3, 4]
    song = client.get_song(album.song[0].id)
    assert song.title == album.song[0].title and song.album_id == album.id
    assert song.suffix in ("mp3", "flac", "ogg", "opus", "m4a") and song.duration >= 1

    data = body(rest(api, "getAlbum", id=album.id, f="json"))["album"]
    assert isinstance(data["songCount"], int) and isinstance(data["song"], list)
    assert isinstance(data["song"][0]["isDir"], bool) and isinstance(data["song"][0]["id"], str)
    assert data["created"].endswith("Z") and "T" in data["created"]  # RFC 3339, UTC
    root = xml(rest(api, "getAlbum.view", id=album.id))
    assert len(root.findall(f"{NS}album/{NS}song")) == 4

    idx = client.get_indexes()
    assert sum(len(i.artist or []) for i in idx.index or []) == 2
    folder = client.get_music_directory(artists[0].id)
    assert folder.child and all(c.is_dir for c in folder.child)


def test_album_lists_and_genres(client: Connection, api: ApiServer) -> None:
    for kind in ("newest", "alphabeticalByName", "alphabeticalByArtist", "random"):
        assert len(client.get_album_list2(kind, size=2) or []) == 2
        assert len(client.get_album_list(kind, size=2) or []) == 2
    years = client.get_album_list2("byYear", from_year=2000, to_year=2001)
    assert {a.year for a in years} <= {2000, 2001} and years
    assert len(client.get_album_list2("byGenre", genre="Test", size=50) or []) == 3
    genres = client.get_genres()
    assert [(g.value, g.song_count) for g in genres] == [("Test", N_TRACKS)]
    assert len(client.get_songs_by_genre("Test", count=5, offset=10)) == 2
    assert len(client.get_random_songs(size=5)) == 5
    genre_xml = xml(rest(api, "getGenres"))
    assert genre_xml.find(f"{NS}genres/{NS}genre").text == "Test"  # type: ignore[union-attr]
    err = body(rest(api, "getAlbumList2", f="json", type="nonsense"))
    assert err["status"] == "failed" and err["error"]["code"] == 0


def test_search3_empty_query_pages_through_everything_in_a_stable_order(client: Connection) -> None:
    seen: list[str] = []
    for offset in range(0, N_TRACKS + 5, 5):
        page = client.search3('""', artist_count=0, album_count=0, song_count=5, song_offset=offset)
        seen += [s.id for s in page.song or []]
    assert len(seen) == N_TRACKS == len(set(seen))
    again = client.search3("", artist_count=0, album_count=0, song_count=100)
    assert [s.id for s in again.song or []] == seen
    hit = client.search3("blue", artist_count=5, album_count=5, song_count=5)
    assert [s.title for s in hit.song or []] == ["Blue Hour"]
    both = client.search3("aurora lan", song_count=0)
    assert [a.name for a in both.artist or []] == ["Aurora Lanes"]
    two = client.search2("kite")
    assert [s.title for s in two.song or []] == ["Kite"]


def test_stream_with_ranges_head_and_download(api: ApiServer, client: Connection) -> None:
    song = client.search3("", artist_count=0, album_count=0, song_count=1).song[0]  # type: ignore[index]
    headers = {"X-Brainstream-User": "ann"}
    whole = httpx.get(f"{api.url}/rest/stream", params={"id": song.id}, headers=headers)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert len(whole.content) == song.size
    part = httpx.get(f"{api.url}/rest/stream.view", params={"id": song.id}, headers={**headers, "Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == whole.content[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{song.size}"
    tail = httpx.get(f"{api.url}/rest/stream", params={"id": song.id}, headers={**headers, "Range": "bytes=-16"})
    assert tail.status_code == 206 and tail.content == whole.content[-16:]
    bad = httpx.get(
        f"{api.url}/rest/stream", params={"id": song.id}, headers={**headers, "Range": f"bytes={song.size}-"}
    )
    assert bad.status_code == 416
    head = httpx.head(f"{api.url}/rest/stream", params={"id": song.id}, headers=headers)
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == song.size
    via_client = client.stream(song.id)
    assert via_client.status == 200
    assert client.download(song.id).status == 200
    missing = body(rest(api, "stream", id="nope", f="json"))
    assert missing["error"]["code"] == 70


def test_cover_art(api: ApiServer, client: Connection) -> None:
    albums = client.get_album_list2("alphabeticalByArtist", size=50)
    with_cover = [a for a in albums if rest(api, "getCoverArt", id=a.cover_art).headers["content-type"] == "image/jpeg"]
    assert len(with_cover) == 1
    resp = rest(api, "getCoverArt", id=with_cover[0].cover_art, size=64)
    assert resp.content == JPEG
    err = body(rest(api, "getCoverArt", id="nothing", f="json"))
    assert err["error"]["code"] == 70


def test_star_rating_and_starred(client: Connection, api: ApiServer) -> None:
    album = client.get_album_list2("alphabeticalByName", size=1)[0]
    song = client.get_album(album.id).song[0]  # type: ignore[index]
    client.star(sids=[song.id], album_ids=[album.id])
    client.set_rating(album.id, 5)
    starred = client.get_starred2()
    assert [s.id for s in starred.song or []] == [song.id]
    assert [a.id for a in starred.album or []] == [album.id]
    assert client.get_song(song.id).starred is not None
    assert [a.id for a in client.get_album_list2("starred")] == [album.id]
    assert [a.id for a in client.get_album_list2("highest")] == [album.id]
    other = body(rest(api, "getStarred2", user="bob", f="json"))["starred2"]
    assert other["song"] == []  # stars are per user
    artist_id = album.artist_id
    assert not any(a.starred for i in client.get_artists().index or [] for a in i.artist or [])
    client.star(artist_ids=[artist_id])  # the cached getArtists answer follows the change at once
    starred_artists = [a.id for i in client.get_artists().index or [] for a in i.artist or [] if a.starred]
    assert starred_artists == [artist_id]
    client.unstar(sids=[song.id])
    assert not client.get_starred2().song
    assert client.get_starred().album


def test_scrobble_updates_play_counts_and_publishes(client: Connection, api: ApiServer) -> None:
    song = client.search3("opening", song_count=1).song[0]  # type: ignore[index]
    client.scrobble(song.id, submission=False)
    now = client.get_now_playing()
    assert [e.id for e in now] == [song.id]
    client.scrobble(song.id, submission=True, listen_time=1_700_000_000)
    client.scrobble(song.id, submission=True, listen_time=1_700_000_300)
    assert client.get_song(song.id).play_count == 2
    assert [a.id for a in client.get_album_list2("frequent")] == [song.album_id]
    assert [a.id for a in client.get_album_list2("recent")] == [song.album_id]
    recorded = [e for e in api.publish.of(ScrobbleRecorded) if e.track_id == song.id]
    assert len(recorded) == 2 and recorded[0].user == "ann" and recorded[0].title == song.title
    assert recorded[0].played_at.timestamp() == 1_700_000_000


def test_playlists_and_play_queue(client: Connection, api: ApiServer) -> None:
    songs = client.search3("", artist_count=0, album_count=0, song_count=4).song or []
    client.create_playlist(name="Road trip", song_ids=[s.id for s in songs[:3]])
    [created] = client.get_playlists()
    assert created.song_count == 3 and created.owner == "ann"
    raw = body(rest(api, "createPlaylist", f="json", name="Raw", songId=songs[0].id))["playlist"]
    assert raw["songCount"] == 1 and isinstance(raw["entry"], list)  # 1.14+: the new playlist comes back
    client.delete_playlist(raw["id"])
    client.update_playlist(created.id, name="Road trip 2", song_ids_to_add=[songs[3].id], song_indices_to_remove=[0])
    got = client.get_playlist(created.id)
    assert got.name == "Road trip 2" and [e.id for e in got.entry or []] == [s.id for s in songs[1:4]]
    assert [p.id for p in client.get_playlists()] == [created.id]
    bob = body(rest(api, "deletePlaylist", user="bob", f="json", id=created.id))
    assert bob["status"] == "failed" and bob["error"]["code"] == 70  # private to ann
    client.delete_playlist(created.id)
    with pytest.raises(SonicError):
        client.get_playlist(created.id)
    client.save_play_queue([s.id for s in songs[:2]], current=songs[1].id, position=1234)
    queue = client.get_play_queue()
    assert [e.id for e in queue.entry or []] == [s.id for s in songs[:2]] and queue.position == 1234


def test_lyrics(client: Connection, api: ApiServer) -> None:
    song = client.search3("blue hour", song_count=1).song[0]  # type: ignore[index]
    lyrics = client.get_lyrics_by_song_id(song.id)
    assert [line.value for line in lyrics[0].line or []] == ["first line", "second line"]
    by_name = client.get_lyrics(artist=song.artist, title=song.title)
    assert "second line" in (by_name.value or "")


def test_formats_errors_and_requests(api: ApiServer) -> None:
    jsonp = rest(api, "ping", f="jsonp", callback="cb")
    assert jsonp.text.startswith("cb(") and json.loads(jsonp.text[3:-2])["subsonic-response"]["status"] == "ok"
    unknown = httpx.get(f"{api.url}/rest/noSuchThing.view", headers={"X-Brainstream-User": "ann"})
    assert unknown.status_code == 200 and xml(unknown).find(f"{NS}error").get("code") == "0"  # type: ignore[union-attr]
    missing = body(rest(api, "getAlbum", f="json"))
    assert missing["error"]["code"] == 10
    no_user = httpx.get(f"{api.url}/rest/ping", params={"f": "json"})
    assert no_user.json()["subsonic-response"]["error"]["code"] == 10
    by_param = httpx.get(f"{api.url}/rest/ping", params={"f": "json", "u": "carol"})
    assert by_param.json()["subsonic-response"]["status"] == "ok"
    ids = [s["id"] for s in body(rest(api, "search3", f="json", query="", songCount=2))["searchResult3"]["song"]]
    form = httpx.post(
        f"{api.url}/rest/star.view",
        content=urlencode([("f", "json"), ("id", ids[0]), ("id", ids[1])]),  # repeated keys in a form POST
        headers={"X-Brainstream-User": "dave", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.json()["subsonic-response"]["status"] == "ok"
    starred = body(rest(api, "getStarred2", user="dave", f="json"))["starred2"]["song"]
    assert sorted(s["id"] for s in starred) == sorted(ids)
    empty = body(rest(api, "getTopSongs", f="json", artist="x"))
    assert empty["status"] == "ok" and empty["topSongs"] == {}
    for method in ("getBookmarks", "getInternetRadioStations"):
        assert body(rest(api, method, f="json"))["status"] == "ok"
    for method in ("getArtistInfo2", "getAlbumInfo2", "getSimilarSongs2"):  # an id the library does not have
        assert body(rest(api, method, f="json", id="x"))["error"]["code"] == 70
    assert body(rest(api, "getLicense", f="json"))["license"]["valid"] is True
