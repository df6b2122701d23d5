"""Two gateway processes behind one load balancer: a real nats-server, `python -m gateway` twice on two ports.

Each replica folds every event into its own read model (its own durable consumers), both accept the same login, and
with one SIGKILLed the other keeps serving. A gateway whose start cannot reach JetStream exits non-zero.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from nats.js import JetStreamContext

from contracts.ingest import ListenRecorded
from contracts.topology import consumers_of
from gateway.adapters.kv import RequestGate
from gateway.history.live import HISTORY_DURABLES
from gateway.replicas import OnceAcrossReplicas
from infra.natsserver import find_nats_server

from ..support.nats import NatsEndpoint
from ..support.stack import free_port
from ..support.wait import wait_until

ADMIN, PASSWORD = "ana", "ana-password-1"


def _env(data_dir: Path, nats_url: str, port: int, replica: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRAINSTREAM_") and k != "NATS_URL"}
    env |= {
        "NATS_URL": nats_url,
        "BRAINSTREAM_DATA_DIR": str(data_dir),
        "BRAINSTREAM_HTTP_PORT": str(port),
        "BRAINSTREAM_ADMIN_USER": ADMIN,
        "BRAINSTREAM_ADMIN_PASSWORD": PASSWORD,
        "BRAINSTREAM_LIBRARY_API_URL": f"http://127.0.0.1:{free_port()}",  # no library: /rest is not under test
        "BRAINSTREAM_LIBRARY_API_SECRET": "replicas-test-secret",
        "BRAINSTREAM_LOG_LEVEL": "WARNING",
    }
    if replica is not None:
        env["BRAINSTREAM_REPLICA_ID"] = replica
    return env


@pytest.fixture
def gateways() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def _start(env: dict[str, str], procs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    log = Path(env["BRAINSTREAM_DATA_DIR"]) / f"gateway-{env['BRAINSTREAM_HTTP_PORT']}.log"
    with log.open("wb") as out:  # read by the test on failure; the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=out, stderr=subprocess.STDOUT)
    procs.append(proc)
    return proc


def _logs(data_dir: Path, procs: list[subprocess.Popen[bytes]]) -> str:
    """What the gateways said, and whether they still run: a start that failed says why here."""
    said = [f"{log.name}:\n{log.read_text(errors='replace')[-4000:]}" for log in sorted(data_dir.glob("gateway-*.log"))]
    return "\n".join([f"exit codes: {[p.poll() for p in procs]}", *said])


async def _login(http: aiohttp.ClientSession, base: str) -> tuple[str, str] | None:
    try:
        async with http.post(f"{base}/api/login", json={"username": ADMIN, "password": PASSWORD}) as r:
            if r.status != 201:
                return None
            return r.cookies["bs_session"].value if "bs_session" in r.cookies else "", (await r.json())["csrf_token"]
    except aiohttp.ClientError:
        return None  # not listening yet


async def _get(http: aiohttp.ClientSession, url: str, cookie: str) -> tuple[int, Any]:
    async with http.get(url, headers={"Cookie": f"bs_session={cookie}"}) as r:
        return r.status, (await r.json()) if r.content_type == "application/json" else None


async def test_two_replicas_fold_every_event_share_logins_and_survive_a_kill(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path, gateways: list[subprocess.Popen[bytes]]
) -> None:
    js = provisioned
    ports = {"a": free_port(), "b": free_port()}
    for replica, port in ports.items():  # one data dir: the accounts database (gateway.db) is shared
        _start(_env(tmp_path, nats_endpoint.url, port, replica), gateways)
    base = {r: f"http://127.0.0.1:{p}" for r, p in ports.items()}

    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        # a login made on one replica is a session on the other
        try:
            login = await wait_until(lambda: _login(http, base["a"]), timeout=60, interval=0.3)
            await wait_until(lambda: _login(http, base["b"]), timeout=60, interval=0.3)  # b is up too
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{_logs(tmp_path, gateways)}") from None
        cookie, csrf = login
        status, me = await _get(http, f"{base['b']}/api/me", cookie)
        assert status == 200 and me["username"] == ADMIN

        # commands through either replica, plays straight into the stream
        for n, target in enumerate(("a", "b", "a")):
            async with http.post(
                f"{base[target]}/api/requests",
                json={"artist": "Cold Harbour", "title": f"Lanterns {n}"},
                headers={"Cookie": f"bs_session={cookie}", "X-CSRF-Token": csrf},
            ) as r:
                assert r.status == 202, await r.text()
        start = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
        for n in range(5):
            play = ListenRecorded(
                user=ADMIN,
                source="lastfm",
                listened_at=start + timedelta(minutes=5 * n),
                artist="Cold Harbour",
                title=f"Tide {n}",
                duration_ms=215_000,
            )
            await js.publish(play.subject, play.to_json(), headers={"Nats-Msg-Id": str(play.event_id)})

        async def answers(path: str) -> dict[str, Any]:
            return {r: (await _get(http, f"{base[r]}{path}", cookie))[1] for r in ("a", "b")}

        def same_and_full(count: int) -> Any:
            return lambda got: got["a"] == got["b"] and got["a"] and len(got["a"]["items"]) == count

        tracks = await wait_until(lambda: answers("/api/tracks"), timeout=30, interval=0.2, predicate=same_and_full(3))
        assert sorted(t["title"] for t in tracks["a"]["items"]) == ["Lanterns 0", "Lanterns 1", "Lanterns 2"]
        listens = await wait_until(
            lambda: answers("/api/listens"), timeout=30, interval=0.2, predicate=same_and_full(5)
        )
        assert {p["title"] for p in listens["b"]["items"]} == {f"Tide {n}" for n in range(5)}

        # each replica reads through consumers of its own; the shared ones are not used
        for replica in ("a", "b"):
            own = await js.consumer_info("INGEST", f"gateway_history_ingest_{replica}")
            assert own.delivered.stream_seq >= 5 and own.config.inactive_threshold
        shared = await js.consumer_info("INGEST", "gateway_history_ingest")
        assert shared.delivered.stream_seq == 0

        # the replica that took the login dies; the other goes on serving it, and folds what comes next
        gateways[0].send_signal(signal.SIGKILL)
        gateways[0].wait(10)
        async with http.post(
            f"{base['b']}/api/requests",
            json={"artist": "Cold Harbour", "title": "Lanterns 3"},
            headers={"Cookie": f"bs_session={cookie}", "X-CSRF-Token": csrf},
        ) as r:
            assert r.status == 202, await r.text()
        after = await wait_until(
            lambda: _get(http, f"{base['b']}/api/tracks", cookie),
            timeout=30,
            interval=0.2,
            predicate=lambda got: got[0] == 200 and got[1]["total"] == 4,
        )
        assert "Lanterns 3" in {t["title"] for t in after[1]["items"]}
    assert gateways[1].poll() is None


def test_a_gateway_that_cannot_reach_jetstream_at_start_exits_non_zero(
    tmp_path: Path, gateways: list[subprocess.Popen[bytes]]
) -> None:
    # a NATS server without JetStream: the client connects, every JetStream call goes unanswered
    port = free_port()
    server = subprocess.Popen(
        [str(find_nats_server()), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env = _env(tmp_path, f"nats://127.0.0.1:{port}", free_port(), None) | {"BRAINSTREAM_START_TIMEOUT": "3"}
        proc = _start(env, gateways)
        code = proc.wait(60)
        err = next(tmp_path.glob("gateway-*.log")).read_bytes()
    finally:
        server.terminate()
        server.wait(10)
    assert code != 0
    assert b"BRAINSTREAM_START_TIMEOUT" in err


async def test_a_late_removal_frees_only_its_own_request(provisioned: JetStreamContext) -> None:
    # a replica folding a TrackRemoved late must not free a newer request for the same track
    gate = RequestGate()
    await gate.bind(provisioned)
    assert await gate.claim("cold-harbour-lanterns", {"track_id": "journey-2", "user": ADMIN}) is None
    await gate.release("cold-harbour-lanterns", "journey-1")  # the earlier journey's removal, folded late
    kept = await gate.claim("cold-harbour-lanterns", {"track_id": "journey-3", "user": ADMIN})
    assert kept is not None and kept["track_id"] == "journey-2"
    await gate.release("cold-harbour-lanterns", "journey-2")
    assert await gate.claim("cold-harbour-lanterns", {"track_id": "journey-3", "user": ADMIN}) is None


async def test_the_rematch_round_runs_on_one_replica_and_only_once_it_has_caught_up(
    provisioned: JetStreamContext,
) -> None:
    runs: list[str] = []
    reads = [spec for spec in consumers_of("gateway") if spec.durable in HISTORY_DURABLES]
    replicas = {}
    for name in ("a", "b"):

        async def job(name: str = name) -> None:
            runs.append(name)

        replicas[name] = OnceAcrossReplicas(job, reads, "gateway.rematch", 60.0, slack=0)
        await replicas[name].bind(provisioned, name)
    assert [await replicas[n].round() for n in ("a", "b", "a", "b")] == [True, False, True, False]
    assert runs == ["a", "a"]
    # a play not folded yet: the holder waits instead of asking for plays it has not seen answered
    play = ListenRecorded(
        user=ADMIN, source="lastfm", listened_at=datetime(2026, 5, 1, tzinfo=UTC), artist="A", title="T"
    )
    await provisioned.publish(play.subject, play.to_json())
    assert await replicas["a"].round() is False and runs == ["a", "a"]
