"""The library browser answers from the Subsonic upstream: library-svc's real API (a scanned file and a pipeline
import side by side), a Navidrome on loopback, and an upstream that is down or answers wrongly."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from nats.js import JetStreamContext
from sqlalchemy import event

from contracts.gateway import RequestTrack
from contracts.library import TrackImported
from gateway.db import make_engine
from gateway.readmodel.queries import Scope, View
from tests.support.audio import make_audio
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.librarysvc import library_url, running_library_svc, tagged_event
from tests.support.nats import NatsEndpoint
from tests.support.stack import free_port
from tests.support.wait import wait_until

from .conftest import ADMIN, RunningGateway
from .gateway_fakes import ALBUM, COVER_PNG, FakeSubsonic, roygbiv
from .test_api import publish

SCANNED_MBID = "5b0b7d4e-0b1c-4c48-9f55-0e1c1d0a7c11"


def scanned_folder(music: Path) -> Path:
    """An existing collection: one tagged file with a cover beside it, never seen by the pipeline."""
    folder = music / "Broadcast" / "Tender Buttons"
    make_audio(
        folder / "01 Black Cat.mp3",
        "mp3",
        1.0,
        freq=260.0,
        tags={
            "title": "Black Cat",
            "artist": "Broadcast",
            "albumartist": "Broadcast",
            "album": "Tender Buttons",
            "tracknumber": "1/1",
            "date": "2005",
            "musicbrainz_trackid": SCANNED_MBID,
        },
    )
    (folder / "cover.png").write_bytes(COVER_PNG)
    return folder


async def request_and_import(gw: RunningGateway, nats_url: str, staging: Path) -> tuple[str, uuid.UUID]:
    """A request through the API, then the tagged file it led to, handed to library-svc as acquire-svc would."""
    c = await gw.login()
    mbid = uuid.uuid4()
    req = (await c.post("/api/requests", json={"recording_mbid": str(mbid)})).json()
    await c.aclose()
    cause = RequestTrack(
        correlation_id=uuid.UUID(req["track_id"]),
        request_id=uuid.UUID(req["request_id"]),
        query={"recording_mbid": mbid},
        user=ADMIN,
    )
    meta = roygbiv(mbid, track_number=1, disc_number=1, year=1998)
    await publish(nats_url, tagged_event(staging, cause, meta))
    return req["track_id"], mbid


async def test_scanned_and_imported_tracks_both_show_from_library_svc(
    gateway_factory: Callable[..., Any], nats_endpoint: NatsEndpoint, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    music = tmp_path / "music"
    scanned_folder(music)
    async with running_library_svc(nats_endpoint.url, tmp_path / "library-data", music) as library:
        gw = await gateway_factory(
            BRAINSTREAM_LIBRARY_API_URL=library_url(library),
            BRAINSTREAM_LIBRARY_API_SECRET=library.settings.api_secret,  # as `brainstream up` shares it
        )
        journey, mbid = await request_and_import(gw, nats_endpoint.url, tmp_path / "staging")
        c = await gw.login()
        # the import reaches the gateway's read model over NATS: the journey ends in the library
        await wait_until(
            lambda: c.get(f"/api/tracks/{journey}"),
            predicate=lambda r: r.status_code == 200 and r.json()["state"] == "imported",
            timeout=30,
        )

        albums = (await c.get("/api/library/albums")).json()
        assert albums["source"] == "library-svc" and albums["next_offset"] is None
        assert [a["name"] for a in albums["items"]] == ["Music Has the Right to Children", "Tender Buttons"]
        artists = (await c.get("/api/library/artists")).json()
        assert sorted(a["name"] for a in artists["items"]) == ["Boards of Canada", "Broadcast"]
        assert artists["total"] == 2

        scanned = next(a for a in albums["items"] if a["name"] == "Tender Buttons")
        detail = (await c.get(f"/api/library/albums/{scanned['id']}")).json()
        [black_cat] = detail["tracks"]
        assert (black_cat["title"], black_cat["recording_mbid"], black_cat["pipeline"]) == (
            "Black Cat",
            SCANNED_MBID,
            None,
        )
        imported = next(a for a in albums["items"] if a["name"] != "Tender Buttons")
        [roygbiv] = (await c.get(f"/api/library/albums/{imported['id']}")).json()["tracks"]
        assert roygbiv["recording_mbid"] == str(mbid)
        assert roygbiv["pipeline"] == {"track_id": journey, "url": f"/tracks/{journey}", "user": ADMIN}

        # every track, a page at a time, and a search
        first = (await c.get("/api/library/tracks", params={"limit": 1})).json()
        second = (await c.get("/api/library/tracks", params={"limit": 1, "offset": first["next_offset"]})).json()
        assert first["next_offset"] == 1 and second["next_offset"] is None
        assert {first["items"][0]["title"], second["items"][0]["title"]} == {"Black Cat", "Roygbiv"}
        found = (await c.get("/api/library/search", params={"q": "black"})).json()
        assert [t["title"] for t in found["tracks"]] == ["Black Cat"]
        assert [a["name"] for a in found["artists"]] == []

        # covers through the gateway: the one beside the scanned file; a placeholder for the import without one
        art = await c.get(scanned["cover_url"])
        assert (art.status_code, art.headers["content-type"], art.content) == (200, "image/png", COVER_PNG)
        none = await c.get(imported["cover_url"])
        assert none.status_code == 200 and none.headers["content-type"].startswith("image/svg+xml")
        assert library_url(library) not in (await c.get(f"/library/albums/{scanned['id']}")).text

        # the library is shared; the journey behind a track is not: another user sees the tracks, not the link
        await c.post("/api/users", json={"username": "bob", "password": "bob-password-1"})
        bob = await gw.login("bob", "bob-password-1")
        [seen_by_bob] = (await bob.get(f"/api/library/albums/{imported['id']}")).json()["tracks"]
        assert seen_by_bob["title"] == "Roygbiv" and seen_by_bob["pipeline"] is None
        assert len((await bob.get("/api/library/tracks")).json()["items"]) == 2
        page = (await bob.get("/library")).text
        assert "Tender Buttons" in page and "Music Has the Right to Children" in page
        assert (await c.get("/api/library/albums/no-such-album")).status_code == 404
        await bob.aclose()
        await c.aclose()


async def test_navidrome_upstream_is_browsed_with_its_own_account(
    gateway_factory: Callable[..., Any], fake_navidrome: FakeSubsonic, nats_endpoint: NatsEndpoint
) -> None:
    gw = await gateway_factory(
        BRAINSTREAM_NAVIDROME_URL=fake_navidrome.base_url,
        BRAINSTREAM_NAVIDROME_USER="nd-admin",
        BRAINSTREAM_NAVIDROME_PASSWORD="nd-secret",
    )
    c = await gw.login()
    # the pipeline imported Navidrome's song: its MBID ties the two together (Navidrome has ids of its own)
    song = ALBUM["song"][0]
    cause = RequestTrack(request_id=uuid.uuid4(), query={"artist": "Boards of Canada"}, user=ADMIN)
    imported = TrackImported.caused_by(
        cause, recording_mbid=uuid.UUID(song["musicBrainzId"]), track_id="lib-1", path="x/y.mp3", size_bytes=1
    )
    await publish(nats_endpoint.url, imported)
    journey = str(cause.correlation_id)
    await wait_until(lambda: c.get(f"/api/tracks/{journey}"), predicate=lambda r: r.status_code == 200, timeout=30)

    albums = (await c.get("/api/library/albums")).json()
    assert albums["source"] == "navidrome"
    assert [(a["id"], a["name"]) for a in albums["items"]] == [("al-1", "Music Has the Right to Children")]
    detail = (await c.get("/api/library/albums/al-1")).json()
    assert [(t["title"], t["pipeline"]["track_id"]) for t in detail["tracks"]] == [("Roygbiv", journey)]
    artist = (await c.get("/api/library/artists/ar-1")).json()
    assert artist["artist"]["name"] == "Boards of Canada" and [a["id"] for a in artist["albums"]] == ["al-1"]
    tracks = (await c.get("/api/library/search", params={"q": "roygbiv"})).json()["tracks"]
    assert [t["pipeline"]["url"] for t in tracks] == [f"/tracks/{journey}"]
    cover = await c.get(albums["items"][0]["cover_url"])
    assert (cover.headers["content-type"], cover.content) == ("image/png", COVER_PNG)
    page = await c.get("/library")
    assert "Served by Navidrome" in page.text and fake_navidrome.base_url not in page.text
    # every call signed in as the gateway's Navidrome account (the fake refuses anything else)
    calls = [r for r in fake_navidrome.web.requests if r.path.startswith("/rest/")]
    assert calls and all(r.query["u"] == ["nd-admin"] and r.query.get("t") for r in calls)
    await c.aclose()


async def test_upstream_down_or_wrong_is_a_clear_error_not_a_500(gateway_factory: Callable[..., Any]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=closed)
    c = await gw.login()
    for path in ("/api/library/albums", "/api/library/artists", "/api/library/tracks", "/api/library/art/al-1"):
        resp = await c.get(path)
        assert resp.status_code == 503, (path, resp.text)
        assert "unavailable" in resp.json()["detail"] and closed not in resp.text
    page = await c.get("/library")
    assert page.status_code == 503 and "The library cannot be shown right now" in page.text
    assert closed not in page.text
    await c.aclose()

    with FakeWeb() as broken:  # a Navidrome that fails, and one that refuses the gateway's account
        broken.reply("GET", "/rest/getAlbumList2", Reply.html(500, "boom"))
        gw = await gateway_factory(
            BRAINSTREAM_NAVIDROME_URL=broken.base_url,
            BRAINSTREAM_NAVIDROME_USER="nd-admin",
            BRAINSTREAM_NAVIDROME_PASSWORD="wrong",
        )
        c = await gw.login()
        resp = await c.get("/api/library/albums")
        assert resp.status_code == 502 and resp.json()["detail"] == "Navidrome answered HTTP 500 to getAlbumList2"
        await c.aclose()
    with FakeWeb() as web:
        FakeSubsonic(web, navidrome=True)
        gw = await gateway_factory(
            BRAINSTREAM_NAVIDROME_URL=web.base_url,
            BRAINSTREAM_NAVIDROME_USER="nd-admin",
            BRAINSTREAM_NAVIDROME_PASSWORD="wrong",
        )
        async with httpx.AsyncClient(base_url=gw.url, headers={"Authorization": f"Bearer {await gw.token()}"}) as s:
            resp = await s.get("/api/library/artists")
            assert resp.status_code == 502
            assert resp.json()["detail"] == "Navidrome refused getArtists: Wrong username or password (error 40)"


async def test_schema_names_the_library_operations_with_typed_answers(gateway: RunningGateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.url) as c:
        schema = (await c.get("/schema/openapi.json")).json()
    ops = {op["operationId"]: op for path in schema["paths"].values() for op in path.values() if isinstance(op, dict)}
    for name in (
        "listLibraryArtists",
        "getLibraryArtist",
        "listLibraryAlbums",
        "getLibraryAlbum",
        "listLibraryTracks",
        "searchLibrary",
        "getLibraryArt",
    ):
        assert name in ops, name
        assert {"502", "503"} <= set(ops[name]["responses"]), name
    ok = ops["getLibraryAlbum"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/LibraryAlbumDetailOut"}
    track = schema["components"]["schemas"]["LibraryTrackOut"]["properties"]
    assert {"pipeline", "cover_url", "recording_mbid"} <= set(track)


def test_journey_links_are_found_by_index_lookups(tmp_path: Path) -> None:
    """A page of tracks asks the read model once; that query must not walk every imported track."""
    engine = make_engine(tmp_path / "gateway.db")
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    View(engine).imported_matching(Scope("bob", False), library_ids=["t1", "t2"], mbids=["m1"], paths=["a/b.mp3"])
    statement, parameters = seen[-1]
    with engine.connect() as conn:
        plan = " / ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
    assert "SCAN" not in plan and "ix_view_tracks_state" not in plan, plan
    for index in ("ix_view_tracks_library_track_id", "ix_view_tracks_recording_mbid", "ix_view_tracks_path"):
        assert index in plan, plan
