"""The history store kept live by a real gateway on a real nats-server: one play from three sources is one row,
`/api/listens` pages it and scopes it, the unmatched are listed and asked again, and `brainstream replay history`
rebuilds the same store."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats

from contracts.base import Message
from contracts.gateway import MatchListen
from contracts.ingest import ListenRecorded
from contracts.library import CatalogEntry, TrackImported
from contracts.resolve import ListenUnmatched, ListenUnmatchedReason
from gateway.history.replayable import HistoryProjection, history_path
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .test_replay_cli import brainstream

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MBID = uuid.UUID("2f2f0b8e-7f2b-4a4a-9d6e-1c3a5b7d9e01")


def listen(user: str, source: str, at: datetime, title: str = "Northern Light", **extra: Any) -> ListenRecorded:
    fields: dict[str, Any] = {
        "user": user,
        "source": source,
        "listened_at": at,
        "artist": "Cold Harbour",
        "title": title,
        "duration_ms": 200_000,
    }
    return ListenRecorded(**(fields | extra))


async def publish_all(url: str, events: list[Message]) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for e in events:
            await js.publish(e.subject, e.to_json(), headers={"Nats-Msg-Id": str(e.event_id)})
    finally:
        await nc.close()


async def test_history_api_scopes_pages_and_replays(
    gateway_factory: Any, nats_endpoint: NatsEndpoint, tmp_path: Path, fake_library: Any
) -> None:
    lb_web = FakeWeb().start()
    playing = {"track_metadata": {"artist_name": "Cold Harbour", "track_name": "Tidewater", "release_name": "Fog"}}
    lb_web.route(
        "GET",
        "/1/user/adm-lb/playing-now",
        lambda r: Reply(json={"payload": {"count": 1, "listens": [playing], "playing_now": True, "user_id": "adm-lb"}}),
    )
    gw = await gateway_factory(
        BRAINSTREAM_HISTORY_RETRY_BASE=0.2,
        BRAINSTREAM_HISTORY_RETRY_EVERY=0.2,
        BRAINSTREAM_LISTENBRAINZ_URL=lb_web.base_url,
        BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url,
    )
    lastfm_only = listen("admin", "lastfm", T0 + timedelta(hours=2), title="Unknown Demo")
    events: list[Message] = [
        listen("admin", "listenbrainz", T0, recording_mbid=MBID, source_ids={"recording_msid": "m-1"}),
        listen("admin", "lastfm", T0 + timedelta(seconds=4), source_ids={"url": "lastfm-url"}),
        listen("admin", "subsonic", T0 - timedelta(seconds=2), source_ids={"song_id": "s-1", "client": "Feishin"}),
        listen("admin", "lastfm", T0 + timedelta(seconds=203)),  # the real repeat, once the first ended
        listen("bob", "subsonic", T0, source_ids={"song_id": "s-1"}),
        lastfm_only,
    ]
    random.Random(7).shuffle(events)
    events.append(
        ListenUnmatched(
            user="admin", listen_id=lastfm_only.event_id, reason=ListenUnmatchedReason.NOT_FOUND, occurred_at=T0
        )
    )
    # the library's genres of the recording: folded by the history store's own LIBRARY consumer, and replayed
    entry = CatalogEntry(
        title="Northern Light",
        artist="Cold Harbour",
        album="Fog",
        album_artist="Cold Harbour",
        genres=["Dream Pop", "Ambient"],
        added_at=T0,
        mtime_ns=0,
    )
    events.append(TrackImported(recording_mbid=MBID, track_id="tr-1", path="a/b.flac", size_bytes=1, entry=entry))
    await publish_all(nats_endpoint.url, events)
    nc = await nats.connect(nats_endpoint.url)
    try:  # the library holds the recording (as library-svc keeps `library_owned`)
        owned = await nc.jetstream().key_value("library_owned")
        await owned.put(str(MBID), json.dumps({"track_id": "tr-1", "path": "a/b.flac"}).encode())
    finally:
        await nc.close()

    admin = await gw.login()
    create = await admin.post("/api/users", json={"username": "bob", "password": "bob-password-1"})
    assert create.status_code == 201, create.text
    bob = await gw.login("bob", "bob-password-1")
    try:
        page = await wait_until(
            lambda: admin.get("/api/listens", params={"user": "admin"}),
            timeout=30,
            predicate=lambda r: r.status_code == 200 and len(r.json()["items"]) == 3,
        )
        items = page.json()["items"]
        assert [i["title"] for i in items] == ["Unknown Demo", "Northern Light", "Northern Light"]
        first = items[2]  # oldest: the play three sources saw
        assert sorted(s["source"] for s in first["sources"]) == ["lastfm", "listenbrainz", "subsonic"]
        assert first["recording_mbid"] == str(MBID) and first["client"] == "Feishin"
        assert first["library_track_id"] == "tr-1" and items[0]["library_track_id"] is None
        follow = await admin.get("/history/library/tr-1")
        assert follow.status_code in (302, 303) and follow.headers["location"] == "/library/albums/al-1"
        assert [s["source"] for s in items[1]["sources"]] == ["lastfm"]

        # paging with the cursor walks the same plays, newest first
        seen, cursor = [], None
        while True:
            params: dict[str, Any] = {"user": "admin", "limit": 1} | ({"cursor": cursor} if cursor else {})
            body = (await admin.get("/api/listens", params=params)).json()
            seen += [i["play_id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == [i["play_id"] for i in items]

        only_sub = (await admin.get("/api/listens", params={"source": "subsonic"})).json()["items"]
        assert {i["user"] for i in only_sub} == {"admin", "bob"}  # the administrator sees everyone's
        mine = (await bob.get("/api/listens")).json()["items"]
        assert [i["user"] for i in mine] == ["bob"]
        assert (await bob.get("/api/listens", params={"user": "admin"})).status_code == 403
        assert (await bob.get("/api/listens/now-playing", params={"user": "admin"})).status_code == 403
        assert (await bob.get("/api/listens/unmatched")).json()["items"] == []
        for bad in ({"from": "yesterday"}, {"cursor": "%%%"}, {"limit": 0}, {"source": "napster"}):
            resp = await admin.get("/api/listens", params=bad)
            assert resp.status_code == 400, (bad, resp.status_code)
        window = {"from": (T0 - timedelta(minutes=1)).isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
        assert len((await admin.get("/api/listens", params=window | {"user": "admin"})).json()["items"]) == 2
        assert (await bob.get("/api/listens")).status_code == 200 and (await bob.aclose()) is None

        unmatched = (await admin.get("/api/listens/unmatched")).json()["items"]
        assert [(u["title"], u["unmatched_reason"]) for u in unmatched] == [("Unknown Demo", "not_found")]

        page = await admin.get("/history", params={"q": "northern", "source": "subsonic"})
        assert page.status_code == 200 and page.text.count('data-play="') == 2  # admin's and bob's
        assert "Not matched yet" in page.text and "not_found" in page.text
        assert (await admin.get("/history", params={"from": "soon"})).status_code == 200  # the reason, no 500

        # ListenBrainz's playing-now is read live for the page, never stored as a listen
        accounts = {"listenbrainz_user": "adm-lb", "listenbrainz_token": "adm-token"}
        assert (await admin.put("/api/users/admin/accounts", json=accounts)).status_code == 200
        now = (await admin.get("/api/listens/now-playing")).json()
        assert now["playing"] == {"artist": "Cold Harbour", "title": "Tidewater", "release": "Fog"}
        assert lb_web.requests[0].header("Authorization") == "Token adm-token"
        assert (await admin.get("/api/listens/now-playing", params={"user": "nobody"})).status_code == 400
    finally:
        await admin.aclose()
        lb_web.stop()

    # the background retry asks resolve-svc again for the unmatched play, as attempt 2
    nc = await nats.connect(nats_endpoint.url)
    try:
        js = nc.jetstream()
        info = await wait_until(
            lambda: js.stream_info("GATEWAY", subjects_filter=MatchListen.subject),
            timeout=30,
            predicate=lambda i: (i.state.subjects or {}).get(MatchListen.subject, 0) >= 1,
        )
        await asyncio.sleep(0)
        # repeated rounds before an answer are one command (same id, the server's duplicate window)
        assert (info.state.subjects or {})[MatchListen.subject] == 1
        msg = await js.get_last_msg("GATEWAY", MatchListen.subject)
        again = MatchListen.from_json(msg.data or b"")
        assert again.listen_id == lastfm_only.event_id and again.attempt == 2 and again.title == "Unknown Demo"
    finally:
        await nc.close()

    live = history_path(gw.settings)
    projection = HistoryProjection(gw.settings)
    dump = await wait_until(
        lambda: asyncio.to_thread(projection.dump, live), timeout=30, predicate=lambda d: bool(d["history_genres"])
    )
    assert dump["history_genres"] == [(str(MBID), "Ambient"), (str(MBID), "Dream Pop")]
    env = {"NATS_URL": nats_endpoint.url, "BRAINSTREAM_DATA_DIR": str(gw.settings.data_dir)}
    fresh = tmp_path / "rebuilt-history.db"
    code, out, err = await brainstream(env, "replay", "history", "--into", str(fresh), "--json")
    assert code == 0, err
    assert json.loads(out)["counts"]["plays"] == 4
    assert await asyncio.to_thread(projection.dump, fresh) == dump
