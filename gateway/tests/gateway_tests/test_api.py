"""REST API: requests and their 409 under a race, CSRF, the read model fed over NATS, SSE resume, replay."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import nats

from contracts.acquire import AcquisitionFailed, AcquisitionFailureReason
from contracts.base import Message
from contracts.common import MatchExplanation, MatchMethod
from contracts.gateway import StartRun
from contracts.library import TrackImported, TrackRemoved
from contracts.resolve import TrackResolved
from tests.support.wait import wait_until

from .gateway_fakes import roygbiv


async def publish(url: str, *events: Message) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for e in events:
        await js.publish(e.subject, e.to_json(), headers={"Nats-Msg-Id": str(e.event_id)})
    await nc.close()


def resolved(cause: Message, mbid: uuid.UUID) -> TrackResolved:
    meta = roygbiv(mbid)
    return TrackResolved.caused_by(
        cause, track=meta, origin="manual", explanation=MatchExplanation(method=MatchMethod.FUZZY, distance=0.05)
    )


async def test_duplicate_request_is_409_even_when_two_clicks_race(gateway: Any) -> None:
    c = await gateway.login()
    body = {"artist": "Boards of Canada", "title": "Roygbiv"}
    a, b = await asyncio.gather(c.post("/api/requests", json=body), c.post("/api/requests", json=body))
    assert sorted([a.status_code, b.status_code]) == [202, 409]
    winner, loser = (a, b) if a.status_code == 202 else (b, a)
    assert loser.json()["existing"]["request_id"] == winner.json()["request_id"]
    again = await c.post("/api/requests", json={"artist": " boards of CANADA ", "title": "roygbiv"})
    assert again.status_code == 409
    assert (await c.post("/api/requests", json={"album": "only an album"})).status_code == 400
    await c.aclose()


async def test_cookie_post_without_csrf_token_is_refused(gateway: Any) -> None:
    c = await gateway.login()
    del c.headers["X-CSRF-Token"]
    resp = await c.post("/api/requests", json={"artist": "A", "title": "B"})
    assert resp.status_code == 403
    c.headers["X-CSRF-Token"] = "forged"
    assert (await c.post("/api/runs", json={})).status_code == 403
    await c.aclose()
    token = await gateway.token()  # scripts: a Bearer token needs no CSRF token
    async with httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}) as s:
        assert (await s.post("/api/requests", json={"artist": "A", "title": "B"})).status_code == 202
        nc = await nats.connect(gateway.settings.nats_url)
        runs = await nc.subscribe(StartRun.subject)
        started = await s.post("/api/runs", json={})
        assert started.status_code == 202
        command = StartRun.from_json((await runs.next_msg(timeout=5)).data)
        assert (command.user, str(command.event_id)) == ("admin", started.json()["command_id"])
        assert (await s.post("/api/runs", json={"user": "nobody"})).status_code == 404
        await nc.close()


async def test_track_moves_through_stages_with_sse_resume_and_replay(gateway: Any, nats_endpoint: Any) -> None:
    c = await gateway.login()
    mbid = uuid.uuid4()
    req = (await c.post("/api/requests", json={"recording_mbid": str(mbid)})).json()
    track_id = req["track_id"]
    got = await wait_until(lambda: c.get(f"/api/tracks/{track_id}"), predicate=lambda r: r.status_code == 200)
    assert got.json()["state"] == "requested"
    request_event_cursor = None
    async with c.stream("GET", "/api/events") as sse:
        lines = sse.aiter_lines()
        async for line in lines:
            if line.startswith("id: "):
                request_event_cursor = line[4:]
                break
        from contracts.gateway import RequestTrack

        cause = RequestTrack(
            correlation_id=uuid.UUID(track_id),
            request_id=uuid.UUID(req["request_id"]),
            query={"recording_mbid": mbid},
            user="admin",
        )
        res = resolved(cause, mbid)
        failed = AcquisitionFailed.caused_by(res, recording_mbid=mbid, reason=AcquisitionFailureReason.NO_CANDIDATES)
        await publish(nats_endpoint.url, res, failed)
        stages = set()
        async for line in lines:  # the two streams are consumed independently: either may arrive first
            if line.startswith("data: "):
                stages.add(json.loads(line[6:])["stage"])
                if {"resolved", "failed"} <= stages:
                    break
    assert stages == {"resolved", "failed"}
    track = (await c.get(f"/api/tracks/{track_id}")).json()
    assert track["failure_reason"].startswith("acquisition failed: no_candidates")
    assert [e["stage"] for e in track["timeline"]] == ["requested", "resolved", "failed"]
    # resume: the events after the cursor come again, in order
    async with c.stream("GET", "/api/events", headers={"Last-Event-ID": request_event_cursor or ""}) as sse:
        seen = []
        async for line in sse.aiter_lines():
            if line.startswith("data: "):
                seen.append(json.loads(line[6:])["summary"].split(":")[0])
                if len(seen) == 2:
                    break
    assert seen == ["resolved", "failed"]
    retried = await c.post(f"/api/tracks/{track_id}/retry", json={})
    assert retried.status_code == 202, retried.text
    await publish(
        nats_endpoint.url,
        TrackImported.caused_by(res, recording_mbid=mbid, track_id="tr-9", path="a/b.mp3", size_bytes=1),
    )
    await wait_until(lambda: c.get(f"/api/tracks/{track_id}"), predicate=lambda r: r.json()["state"] == "imported")
    before = (await c.get(f"/api/tracks/{track_id}")).json()
    cover = await c.get(f"/api/library/cover/{track_id}")
    assert cover.headers["content-type"] == "image/png", cover.headers
    # a rebuild from the streams gives the same answer: `brainstream replay gateway`, in test_replay_cli.py
    assert (await c.get(f"/api/tracks/{track_id}")).json() == before
    assert (await c.delete(f"/api/tracks/{track_id}")).status_code == 202
    assert (await c.post("/api/requests", json={"recording_mbid": str(mbid)})).status_code == 409
    await publish(nats_endpoint.url, TrackRemoved.caused_by(res, track_id="tr-9", recording_mbid=mbid, path="a/b.mp3"))
    # out of the library, it may be asked for again
    again = await wait_until(
        lambda: c.post("/api/requests", json={"recording_mbid": str(mbid)}), predicate=lambda r: r.status_code != 409
    )
    assert again.status_code == 202
    await c.aclose()


async def test_pages_escape_what_the_pipeline_stored(gateway: Any) -> None:
    c = await gateway.login()
    evil = '<script>alert("x")</script>'
    req = (await c.post("/api/requests", json={"artist": evil, "title": "t"})).json()
    await wait_until(lambda: c.get(f"/api/tracks/{req['track_id']}"), predicate=lambda r: r.status_code == 200)
    for path in (f"/tracks/{req['track_id']}", "/tracks", "/"):
        html = (await c.get(path)).text
        assert evil not in html and "&lt;script&gt;" in html, path
    await c.aclose()
