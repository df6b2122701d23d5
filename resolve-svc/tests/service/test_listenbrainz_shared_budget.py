"""ListenBrainz asks for 1 request/s from one client. ingest-svc (listens, recommendations) and resolve-svc (batch
metadata) both call it, each with replicas: together they must still keep every two requests an interval apart.

The fake answers 429 to a request closer than the interval to the one before it, whoever sent it, and counts it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import uuid
from collections.abc import Callable

from nats.js import JetStreamContext
from resolve_bus import outputs, publish
from resolve_catalog import RECORDINGS, mbid
from resolve_fakes import Fakes

from contracts.common import CandidateSource
from contracts.ingest import CandidateDiscovered
from infra.http import HttpSettings
from ingest_svc.adapters.http import Clients
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.settings import Settings as IngestSettings
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint

SCALE = 5.0  # a 0.2 s interval instead of 1 s, so the test stays short
TRACKS = 12
POLLS = 8


def _ingest_settings(nats_url: str, lb_url: str) -> IngestSettings:
    values: dict[str, object] = {
        "NATS_URL": nats_url,
        "BRAINSTREAM_LISTENBRAINZ_URL": lb_url,
        "BRAINSTREAM_LISTENBRAINZ_MIN_INTERVAL": 1 / SCALE,
        "BRAINSTREAM_LISTENBRAINZ_USER": None,
        "BRAINSTREAM_LASTFM_USER": None,
        "BRAINSTREAM_SPOTIFY_REFRESH_TOKEN": None,
    }
    return IngestSettings(**values)  # type: ignore[arg-type]


async def test_two_services_and_their_replicas_share_one_listenbrainz_budget(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    base = list(RECORDINGS.values())
    recordings = {}
    for i in range(TRACKS):
        doc = copy.deepcopy(base[i % len(base)])
        doc["id"] = mbid(f"lb-budget-{i}")
        recordings[doc["id"]] = doc
    fakes = Fakes(fake_web_factory, scale=SCALE, recordings=recordings)
    listens = {"payload": {"count": 0, "listens": []}}
    fakes.lb.route("GET", "/1/user/{user}/listens", lambda r: Reply(json=listens), limit=fakes.lb_limit)
    # one MBID per metadata request, so resolve-svc sends many ListenBrainz requests too
    resolve_settings = fakes.settings(nats_endpoint.url, BRAINSTREAM_LB_BATCH_SIZE=1)
    http = HttpSettings(BRAINSTREAM_CONTACT="tests@example.org", BRAINSTREAM_HTTP_BACKOFF=0.05)  # type: ignore[call-arg]
    async with contextlib.AsyncExitStack() as stack:
        resolvers = [await stack.enter_async_context(running(resolve_settings, fakes.http())) for _ in range(2)]
        ingest = [Clients.build(_ingest_settings(nats_endpoint.url, fakes.lb.base_url), http) for _ in range(2)]
        for clients in ingest:
            stack.push_async_callback(clients.aclose)
            await clients.bind(provisioned)

        async def poll(clients: Clients, user: str) -> None:
            lb = ListenBrainz(clients.listenbrainz)
            for _ in range(POLLS):
                await lb.listens(user, 0, 10)

        for i, m in enumerate(recordings):
            await publish(
                provisioned,
                CandidateDiscovered(
                    recording_mbid=uuid.UUID(m), source=CandidateSource.CF, run_id=uuid.uuid4(), position=i
                ),
            )
        await asyncio.gather(poll(ingest[0], "alice"), poll(ingest[1], "bob"))
        await outputs(provisioned, TRACKS, timeout=60.0)
    by_service = {
        "ingest": len(fakes.lb.requests_for("GET", "/1/user/{user}/listens")),
        "resolve": len(fakes.lb.requests_for("GET", "/1/metadata/recording/")),
    }
    assert by_service["ingest"] == 2 * POLLS and by_service["resolve"] >= TRACKS // 2, by_service
    per_resolver = [r.clients["listenbrainz"].stats.total for r in resolvers]
    assert all(n > 0 for n in per_resolver), per_resolver  # both resolve replicas took part
    gaps = [(round(b.at - a.at, 3), a.route, b.route) for a, b in itertools.pairwise(fakes.lb.requests)]
    assert fakes.lb.violations == [], [g for g in gaps if g[0] < 1 / SCALE]
