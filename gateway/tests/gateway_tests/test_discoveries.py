"""The Discoveries read model, its API and its replay: two weeks of one user's picks folded from the lifecycle's
events (published here as library-svc and ingest-svc publish them) onto a real nats-server, read back through
`/api/discoveries`, acted on with Keep, Hate and Restore (the commands land on GATEWAY), and rebuilt the same by
`brainstream replay gateway`."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats

from contracts.discovery import (
    ArtistExcluded,
    DiscoveryAdded,
    DiscoveryRunsResumed,
    HateDiscovery,
    KeepDiscovery,
    RestoreDiscovery,
)
from gateway.db import make_engine
from gateway.discoveries.queries import DEFAULT_RULES, user_discoveries, user_picks
from gateway.readmodel.projection import Projection
from gateway.readmodel.replayable import GatewayProjection
from infra.secretbox import open_document
from tests.support.wait import wait_until

from .discoveries_scenario import scenario
from .test_history_live import publish_all
from .test_replay_cli import brainstream

DISCOVERY_TABLES = ("view_discovery_picks", "view_discovery_tracks", "view_discovery_feedback", "view_discovery_pause")


def _discovery_rows(projection: GatewayProjection, db: Path) -> dict[str, Any]:
    dump = projection.dump(db)
    # the sequence a fact came with depends on the order it was applied in; the facts themselves must not
    return {t: dump[t] for t in DISCOVERY_TABLES}


def test_fold_gives_the_same_state_in_any_order(tmp_path: Path) -> None:
    """Streams are consumed independently and events are published late or early: whatever order they are applied
    in (each with the sequence its place gives it), the discoveries shown are the same."""
    sc = scenario()
    events = [e for e in sc.events if e.subject.startswith(("library.discovery", "ingest.feedback"))]
    shown = []
    for attempt in range(6):
        order = list(enumerate(events, 1))
        random.Random(attempt).shuffle(order)
        # odd: a consumer's workers finish in any order (each event keeps its stream sequence, lower ones come late);
        # even: published late or early (the stream's order is not the order events happened in)
        numbered = order if attempt % 2 else [(seq, event) for seq, (_, event) in enumerate(order, 1)]
        engine = make_engine(tmp_path / f"order-{attempt}.db")
        fold = Projection(engine)
        for seq, event in numbered:
            fold.apply(event, event.stream, seq)
        assert fold.apply(numbered[0][1], numbered[0][1].stream, numbered[0][0]) is None  # redelivered: applied once
        views = [user_discoveries(engine, u, DEFAULT_RULES, now=sc.now) for u in ("admin", "bob")]
        shown.append(views)
        picks = {(p.week, p.track_id): p for p in user_picks(engine, "admin")}
        assert picks[(sc.last_week, "tr-harbour")].state == "kept"
        assert picks[(sc.last_week, "tr-ferry")].state == "expired"
        assert picks[(sc.last_week, "tr-tidewell")].state == "purged"  # emptied from the trash after it expired
        assert picks[(sc.this_week, "tr-vesper")].state == "expired" and picks[(sc.this_week, "tr-vesper")].hated
        assert picks[(sc.this_week, "tr-arcade")].weeks == sorted([sc.last_week, sc.this_week])
        # in two weeks' playlists, it expires after the later one: both weeks say so
        arcade = {picks[(w, "tr-arcade")].expires_at for w in (sc.last_week, sc.this_week)}
        assert len(arcade) == 1 and None not in arcade
        engine.dispose()
    assert all(views == shown[0] for views in shown)
    assert shown[0][0]["paused"] is not None and len(shown[0][0]["trash"]) == 2

    # runs resume; a pick told again in its week replaces what was said of it
    engine = make_engine(tmp_path / "order-0.db")
    fold = Projection(engine)
    resumed = DiscoveryRunsResumed(used_bytes=1, budget_bytes=2, occurred_at=sc.now + timedelta(minutes=1))
    assert fold.apply(resumed, "LIBRARY", 1000) is not None
    again = next(e for e in events if isinstance(e, DiscoveryAdded) and e.track_id == "tr-marrow")
    fold.apply(again.model_copy(update={"event_id": uuid.uuid4(), "album": "Pylons (deluxe)"}), "LIBRARY", 1001)
    view = user_discoveries(engine, "admin", DEFAULT_RULES, now=sc.now)
    assert view["paused"] is None
    assert [p["album"] for p in view["weeks"][0]["picks"] if p["track_id"] == "tr-marrow"] == ["Pylons (deluxe)"]


async def _wait_for(client: Any, predicate: Any, params: dict[str, str] | None = None) -> dict[str, Any]:
    resp = await wait_until(
        lambda: client.get("/api/discoveries", params=params or {}),
        timeout=30,
        predicate=lambda r: r.status_code == 200 and predicate(r.json()),
    )
    return dict(resp.json())


async def test_discoveries_api_scopes_acts_and_replays(gateway: Any, nats_endpoint: Any, tmp_path: Path) -> None:
    sc = scenario()
    admin = await gateway.login()
    resp = await admin.post("/api/users", json={"username": "bob", "password": "bob-password-1"})
    assert resp.status_code == 201, resp.text
    bob = await gateway.login("bob", "bob-password-1")
    nc = await nats.connect(nats_endpoint.url)
    commands = await nc.subscribe("gateway.discovery.>")
    try:
        await publish_all(nats_endpoint.url, sc.events)
        body = await _wait_for(
            admin,
            lambda b: (
                b["paused"] is not None
                and sum(len(w["picks"]) for w in b["weeks"]) == 8
                and any(p["played"] for w in b["weeks"] for p in w["picks"] if p["track_id"] == "tr-orchard")
                and len(b["feedback"]) == 2
            ),
        )
        assert [w["week"] for w in body["weeks"]] == [sc.this_week, sc.last_week]
        this_week, last_week = ({p["track_id"]: p for p in w["picks"]} for w in body["weeks"])
        assert [p["track_id"] for p in body["weeks"][0]["picks"]] == [
            "tr-orchard",
            "tr-marrow",
            "tr-vesper",
            "tr-arcade",
        ]
        assert body["weeks"][0]["playlist"] == f"Discoveries {sc.this_week}"
        orchard = this_week["tr-orchard"]
        assert orchard["state"] == "active" and orchard["played"] and orchard["plays"] == 1
        assert orchard["source_label"] == "ListenBrainz recommendations (CF)" and orchard["expires_at"]
        assert this_week["tr-marrow"]["source"] == "playlists" and not this_week["tr-marrow"]["played"]
        assert last_week["tr-harbour"]["state"] == "kept" and last_week["tr-harbour"]["detail"] == "played 1 time"
        assert last_week["tr-harbour"]["played"]  # no play in the history, but kept by playing it
        assert last_week["tr-tidewell"]["state"] == "purged"
        assert {p["track_id"]: p["reason"] for p in body["trash"]} == {"tr-vesper": "hated", "tr-ferry": "disk_budget"}
        assert all(p["purge_at"] for p in body["trash"])
        assert "21.0 GB" in body["paused"]["reason"]
        assert body["rules"]["keep_for"] == "21d" and body["rules"]["trash_for"] == "7d"

        # documented: every route in the OpenAPI schema, the answer with its fields
        schema = (await admin.get("/schema/openapi.json")).json()
        ops = {op["operationId"] for path in schema["paths"].values() for op in path.values() if "operationId" in op}
        assert {"getDiscoveries", "keepDiscovery", "hateDiscovery", "restoreDiscovery", "setExcludedArtists"} <= ops
        assert "expires_at" in schema["components"]["schemas"]["PickOut"]["properties"]

        # scopes: bob sees his one pick; not admin's, not even by asking; admin may look at bob's
        mine = (await bob.get("/api/discoveries")).json()
        assert [p["track_id"] for w in mine["weeks"] for p in w["picks"]] == ["tr-bob"] and mine["trash"] == []
        assert (await bob.get("/api/discoveries", params={"user": "admin"})).status_code == 403
        theirs = (await admin.get("/api/discoveries", params={"user": "bob"})).json()
        assert theirs["user"] == "bob" and len(theirs["weeks"][0]["picks"]) == 1
        assert (await admin.get("/api/discoveries", params={"user": "nobody"})).status_code == 404
        assert (await admin.get("/api/discoveries")).status_code == 200
        anonymous = await gateway.login()
        anonymous.cookies.clear()
        assert (await anonymous.get("/api/discoveries")).status_code == 401
        await anonymous.aclose()

        # the page: one's own with the exclusion list; an admin may look at another's, without its buttons' forms
        page = await bob.get("/discoveries")
        assert page.status_code == 200 and 'data-user="bob"' in page.text and 'id="excluded-form"' in page.text
        page = await bob.get("/discoveries", params={"user": "admin"})  # not an admin: their own page
        assert 'data-user="bob"' in page.text
        page = await admin.get("/discoveries", params={"user": "bob"})
        assert "Discoveries of bob" in page.text and 'data-own="0"' in page.text and "excluded-form" not in page.text

        # actions: only on one's own discoveries; each is a command with the user
        resp = await bob.post("/api/discoveries/tr-orchard/keep")
        assert resp.status_code == 404 and "not one of your discoveries" in resp.json()["detail"]
        assert (await admin.post("/api/discoveries/tr-unknown/hate")).status_code == 404
        resp = await admin.post("/api/discoveries/tr-orchard/keep")
        assert resp.status_code == 202 and resp.json()["requested"] == "keep"
        resp = await admin.post("/api/discoveries/tr-marrow/hate")
        assert resp.status_code == 202
        resp = await admin.post("/api/discoveries/tr-ferry/restore")
        assert resp.status_code == 202 and resp.json()["was"] == "expired"
        resp = await admin.post("/api/discoveries/tr-tidewell/restore")
        assert resp.status_code == 409 and "the trash was emptied of it" in resp.json()["detail"]
        resp = await admin.post("/api/discoveries/tr-orchard/restore")
        assert resp.status_code == 409 and "not in the trash" in resp.json()["detail"]
        resp = await admin.post("/api/discoveries/tr-ferry/keep")
        assert resp.status_code == 409 and "restore it from the trash" in resp.json()["detail"]
        got = [await commands.next_msg(timeout=5) for _ in range(3)]
        seen = {(m.subject, json.loads(m.data)["track_id"], json.loads(m.data)["user"]) for m in got}
        assert seen == {
            (KeepDiscovery.subject, "tr-orchard", "admin"),
            (HateDiscovery.subject, "tr-marrow", "admin"),
            (RestoreDiscovery.subject, "tr-ferry", "admin"),
        }

        # the exclusion list: validated, saved in the user's live settings, recorded as an event
        for bad, why in (([" "], "blank"), (["x" * 201], "at most 200"), ([7], "text"), (["a"] * 1001, "at most 1000")):
            resp = await admin.put("/api/discoveries/excluded-artists", json={"artists": bad})
            assert resp.status_code == 400 and why in resp.json()["detail"], resp.text
        for body in ({"artists": "Vesper Lane"}, {}, ["Vesper Lane"]):
            resp = await admin.put("/api/discoveries/excluded-artists", json=body)
            assert resp.status_code == 400, resp.text
        resp = await admin.put(
            "/api/discoveries/excluded-artists", json={"artists": ["Vesper Lane", " vesper  lane", "Glass Arcade"]}
        )
        assert resp.status_code == 200 and resp.json()["artists"] == ["Vesper Lane", "Glass Arcade"]
        assert (await admin.get("/api/discoveries/excluded-artists")).json()["artists"] == [
            "Vesper Lane",
            "Glass Arcade",
        ]
        assert (await bob.get("/api/discoveries/excluded-artists")).json()["artists"] == []
        excluded = await commands.next_msg(timeout=5)
        assert excluded.subject == ArtistExcluded.subject
        assert json.loads(excluded.data)["artists"] == ["Vesper Lane", "Glass Arcade"]
        kv = await nc.jetstream().key_value("settings")
        stored = json.loads(open_document(gateway.state.users.box, (await kv.get("user.admin")).value))
        assert stored["excluded_artists"] == ["Vesper Lane", "Glass Arcade"]
    finally:
        await nc.close()
        await admin.aclose()
        await bob.aclose()

    # replay: the discoveries rebuilt from the streams are the live ones
    projection = GatewayProjection(gateway.settings)
    live_db = gateway.settings.data_dir / "gateway" / "gateway.db"
    env = {"NATS_URL": nats_endpoint.url, "BRAINSTREAM_DATA_DIR": str(gateway.settings.data_dir)}
    live = await asyncio.to_thread(_discovery_rows, projection, live_db)
    fresh = tmp_path / "rebuilt.db"
    code, _, err = await brainstream(env, "replay", "gateway", "--into", str(fresh), "--json")
    assert code == 0, err
    rebuilt = await asyncio.to_thread(_discovery_rows, projection, fresh)
    assert rebuilt == live and len(rebuilt["view_discovery_picks"]) == 9
