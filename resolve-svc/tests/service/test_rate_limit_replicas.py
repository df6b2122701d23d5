"""Three replicas (three ServiceRuntime instances sharing only NATS) against a MusicBrainz that answers 503 when two
requests come closer than its interval: the slot in the rate_limits KV keeps every request apart."""

from __future__ import annotations

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
from contracts.resolve import TrackResolved
from resolve_svc.app import running
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint

SCALE = 5.0  # MusicBrainz interval 0.2 s instead of 1 s, so the test stays short


async def test_three_replicas_share_one_musicbrainz_budget(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, fake_web_factory: Callable[[], FakeWeb]
) -> None:
    base = list(RECORDINGS.values())
    recordings = {}
    for i in range(60):  # 60 distinct recordings ListenBrainz does not know: each needs a MusicBrainz lookup
        doc = copy.deepcopy(base[i % len(base)])
        doc["id"] = mbid(f"replica-{i}")
        recordings[doc["id"]] = doc
    fakes = Fakes(fake_web_factory, scale=SCALE, recordings=recordings)
    fakes.lb.route("GET", "/1/metadata/recording/", lambda r: Reply(json={}), limit=fakes.lb_limit)
    fakes.unlimited_stores()  # this test is about MusicBrainz: the stores must not be what it waits for
    settings = fakes.settings(
        nats_endpoint.url, **fakes.store_rates
    )  # the default margin (0.1 s per gap) absorbs jitter
    async with contextlib.AsyncExitStack() as stack:
        replicas = [await stack.enter_async_context(running(settings, fakes.http())) for _ in range(3)]
        for i, m in enumerate(recordings):
            event = CandidateDiscovered(
                recording_mbid=uuid.UUID(m), source=CandidateSource.RADIO, run_id=uuid.uuid4(), position=i
            )
            await publish(provisioned, event)
        got = await outputs(provisioned, 60, timeout=60.0)
    lookups = fakes.mb.requests_for("GET", "/ws/2/recording/{mbid}")
    gaps_seen = [(round(b.at - a.at, 4), b.rate_limited) for a, b in itertools.pairwise(fakes.mb.requests)]
    refused = [i for i, gap in enumerate(gaps_seen) if gap[1]]
    assert fakes.mb.violations == [], [gaps_seen[max(0, i - 3) : i + 3] for i in refused]
    per_replica = [r.clients["musicbrainz"].stats.total for r in replicas]
    assert all(n > 0 for n in per_replica), per_replica  # every replica took part, so the budget was shared
    assert len(got) == 60 and all(isinstance(e, TrackResolved) for e in got)
    assert len({r.path for r in lookups}) == 60
    gaps = [b.at - a.at for a, b in itertools.pairwise(lookups)]
    assert min(gaps) >= 1 / SCALE
