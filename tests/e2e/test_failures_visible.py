"""Failures are never silent: a whole `brainstream up` with MusicBrainz answering 503.

A request by recording MBID shows "retrying" with its stage, attempt, limit and MusicBrainz's error; `/api/health`
and `brainstream status` are degraded and name MusicBrainz; once the fake recovers the track reaches the library.
The slow variant waits out resolve's whole retry budget (8 attempts, about 2.5 minutes): the track ends "failed"
with the reason, and the Retry the web UI sends re-drives its dead letter and imports it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from ..support.fakeweb import Reply, Request
from ..support.loopfakes import LoopFakes
from ..support.loopstack import ADMIN_PASSWORD, ADMIN_USER, LoopStack, loop_stack
from ..support.loopworld import LoopWorld
from ..support.stack import health
from ..support.wait import wait_until

MB_DOWN = Reply.html(503, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>")


def musicbrainz_down(fakes: LoopFakes) -> None:
    fakes.mb.route("GET", "/ws/2/recording/{mbid}", lambda _r: MB_DOWN)  # the latest route wins


def musicbrainz_back(fakes: LoopFakes) -> None:
    fakes.mb.route("GET", "/ws/2/recording/{mbid}", fakes._mb_lookup, limit=fakes.mb_limit)


def listenbrainz_knows_nothing(fakes: LoopFakes) -> None:
    """ListenBrainz's batch metadata has nothing on the recordings, so resolve-svc must ask MusicBrainz."""

    def empty(_r: Request) -> Reply:
        return Reply(200, json={})

    fakes.lb.route("GET", "/1/metadata/recording/", empty, limit=fakes.lb_limit)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopStack]:
    extra = {"BRAINSTREAM_HTTP_RETRIES": "0", "BRAINSTREAM_UPSTREAM_DEGRADED_AFTER": "1"}
    with loop_stack(tmp_path_factory.mktemp("failures"), LoopWorld(4), env_accounts=False, extra_env=extra) as s:
        listenbrainz_knows_nothing(s.fakes)
        yield s


@pytest.fixture(scope="module")
async def http(stack: LoopStack) -> AsyncIterator[httpx.AsyncClient]:
    await wait_until(lambda: health(stack.port), timeout=120, interval=0.3, predicate=lambda h: h is not None)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=15) as client:
        login = await client.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert login.status_code == 201, login.text
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        yield client


async def _track(http: httpx.AsyncClient, track_id: str) -> dict[str, Any] | None:
    resp = await http.get(f"/api/tracks/{track_id}")
    return resp.json() if resp.status_code == 200 else None


async def _request(http: httpx.AsyncClient, mbid: str) -> str:
    resp = await http.post("/api/requests", json={"recording_mbid": mbid})
    assert resp.status_code == 202, resp.text
    return str(resp.json()["track_id"])


async def test_retrying_shows_attempts_health_names_musicbrainz_and_recovery_imports(
    stack: LoopStack, http: httpx.AsyncClient
) -> None:
    musicbrainz_down(stack.fakes)
    track_id = await _request(http, stack.world.tracks[0].recording_mbid)
    track = await wait_until(
        lambda: _track(http, track_id),
        timeout=60,
        interval=0.2,
        predicate=lambda t: t is not None and t["state"] == "retrying" and (t["retry"] or {}).get("attempt", 0) >= 2,
    )
    retry = track["retry"]
    assert retry["stage"] == "resolve" and retry["limit"] == 8 and retry["next_attempt_at"]
    assert retry["error"] == "MusicBrainz unavailable: HTTP 503" and track["upstream"] == "musicbrainz"
    assert any(e["stage"] == "retrying" and "attempt 1 of 8 failed" in e["detail"] for e in track["timeline"])

    body = await wait_until(
        lambda: health(stack.port, admin=(ADMIN_USER, ADMIN_PASSWORD)),  # `upstreams` is for administrators
        timeout=60,
        interval=0.3,
        predicate=lambda h: h is not None and any(d["upstream"] == "musicbrainz" for d in h.get("degraded", [])),
    )
    assert body["status"] == "degraded"
    mb = next(d for d in body["degraded"] if d["upstream"] == "musicbrainz")
    assert mb["name"] == "MusicBrainz" and mb["short"] == "unavailable" and mb["since"] and mb["waiting"] == 1
    assert "resolve-svc" in body["upstreams"]["musicbrainz"]["services"]

    status = stack.cli("status", "--json")
    assert status.returncode == 1, status.stderr
    assert "MusicBrainz" in json.loads(status.stdout)["degraded_upstreams"]
    table = stack.cli("status")
    assert "degraded: MusicBrainz unavailable since" in table.stdout

    musicbrainz_back(stack.fakes)
    done = await wait_until(
        lambda: _track(http, track_id),
        timeout=120,
        interval=0.5,
        predicate=lambda t: t is not None and t["state"] in ("imported", "failed"),
    )
    assert done["state"] == "imported", done
    assert await asyncio.to_thread((stack.music_dir / done["path"]).is_file)


@pytest.mark.slow
async def test_a_dead_lettered_request_fails_with_its_reason_and_retry_imports_it(
    stack: LoopStack, http: httpx.AsyncClient
) -> None:
    musicbrainz_down(stack.fakes)
    track_id = await _request(http, stack.world.tracks[1].recording_mbid)
    failed = await wait_until(
        lambda: _track(http, track_id),
        timeout=400,
        interval=1.0,
        predicate=lambda t: t is not None and t["state"] == "failed",
    )
    assert failed["failure_reason"] == "resolve gave up after 8 attempts: MusicBrainz unavailable: HTTP 503"
    assert len(failed["dead_letters"]) == 1
    counts = (await http.get("/api/tracks/counts")).json()
    assert counts.get("failed", 0) >= 1
    listed = (await http.get("/api/tracks", params={"state": "failed"})).json()
    assert track_id in [t["id"] for t in listed["items"]]

    musicbrainz_back(stack.fakes)
    retried = await http.post(f"/api/tracks/{track_id}/retry", json={})
    assert retried.status_code == 202 and retried.json()["action"] == "redriven"
    # still "failed" until the re-drive is folded; then it goes on from resolve to the library
    done = await wait_until(
        lambda: _track(http, track_id),
        timeout=120,
        interval=0.5,
        predicate=lambda t: t is not None and t["state"] == "imported",
    )
    assert done["dead_letters"] == [] and any(e["stage"] == "redriven" for e in done["timeline"])
    letters = stack.cli("dlq", "list", "--json")
    assert json.loads(letters.stdout) == []
