"""Listening history at scale: 200k listens of a realistic history from a fake ListenBrainz and a fake Last.fm that
overlap by half, captured, matched and stored once per play.

The history: 5,000 distinct tracks whose plays follow a power law (Zipf, s=1.1), played back to back with pauses.
ListenBrainz saw the first two thirds of the plays, Last.fm the last two thirds (timestamps a few seconds off), so
half of each source's plays are also the other's. ListenBrainz maps 80% of its tracks (`mbid_mapping`); Last.fm gives
an `mbid` for half of its tracks. A fake MusicBrainz in the fakes' process knows every track.

Three stages, each the real code path:
1. ingest: ingest-svc's `ListenService.poll` over both feeds → `ListenRecorded` on INGEST (real nats-server);
2. match: resolve-svc running in this process (its `resolve_listens` consumer, shared limiter, KV caches) → RESOLVE;
3. store: `brainstream replay history --into` folds INGEST and RESOLVE into a fresh history store, in its own process.

Prints listens/s of each stage and end to end, MusicBrainz requests per listen, rows stored against distinct plays
(they must be equal), plays matched, and peak RSS. `BENCH_HISTORY_LISTENS` sets the size (default 200000).
MusicBrainz's limiter is set to 500 req/s here (the fake does not enforce 1 req/s); at the real 1 req/s the
requests alone take as many seconds as there are requests.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import multiprocessing
import os
import platform
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from itertools import accumulate
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import nats

LISTENS = int(os.environ.get("BENCH_HISTORY_LISTENS", "200000"))
TRACKS = 5000
T0 = 1_500_000_000
NS = uuid.UUID("3c1d8f2a-5b6e-4c7d-9e0f-1a2b3c4d5e6f")


def _mbid(k: int) -> str:
    return str(uuid.uuid5(NS, f"rec-{k}"))


def history() -> list[tuple[int, int]]:
    """(start, track) of every distinct play; listens = 4/3 of the plays (the overlap is seen twice)."""
    plays = LISTENS * 3 // 4
    rng = random.Random(16)
    cum = list(accumulate(1 / (r + 1) ** 1.1 for r in range(TRACKS)))
    out, t = [], T0
    for _ in range(plays):
        k = bisect.bisect_left(cum, rng.random() * cum[-1])
        out.append((t, k))
        t += _duration(k) + rng.randint(5, 600)
    return out


def _duration(k: int) -> int:
    return 150 + k % 150


def _artist(k: int) -> str:
    return f"Artist {k % 800}"


def _serve(port_q: Any, stop_q: Any) -> None:
    from tests.support.fakeweb import FakeWeb, Reply, Request

    plays = history()
    n = len(plays)
    lb = plays[: 2 * n // 3]
    fm_rng = random.Random(61)
    fm = [(t + fm_rng.randint(-5, 5), k) for t, k in plays[n // 3 :]]
    lb_ts, fm_ts = [t for t, _ in lb], [t for t, _ in fm]

    def lb_item(i: int) -> dict[str, Any]:
        t, k = lb[i]
        info: dict[str, Any] = {"recording_msid": f"msid-{i}", "duration_ms": _duration(k) * 1000}
        meta: dict[str, Any] = {"artist_name": _artist(k), "track_name": f"Title {k}", "additional_info": info}
        if k % 5:
            meta["mbid_mapping"] = {"recording_mbid": _mbid(k)}
        return {"listened_at": t, "recording_msid": f"msid-{i}", "track_metadata": meta, "user_name": "bench"}

    def lb_listens(req: Request) -> Reply:
        min_ts = int(req.query.get("min_ts", ["0"])[0])
        count = int(req.query.get("count", ["25"])[0])
        first = bisect.bisect_right(lb_ts, min_ts)
        page = [lb_item(i) for i in range(first, min(len(lb), first + count))]
        page.reverse()
        return Reply(json={"payload": {"count": len(page), "listens": page, "user_id": "bench"}})

    def fm_item(i: int) -> dict[str, Any]:
        t, k = fm[i]
        return {
            "artist": {"#text": _artist(k), "mbid": ""},
            "name": f"Title {k}",
            "mbid": _mbid(k) if k % 2 == 0 else "",
            "album": {"#text": "", "mbid": ""},
            "date": {"uts": str(t), "#text": ""},
        }

    def fm_recent(req: Request) -> Reply:
        since = int(req.query.get("from", ["0"])[0])
        limit = min(200, int(req.query.get("limit", ["50"])[0]))
        page = int(req.query.get("page", ["1"])[0])
        first = bisect.bisect_left(fm_ts, since)
        total = len(fm) - first
        pages = max(1, -(-total // limit))
        # newest first: page 1 is the newest `limit`
        hi = len(fm) - (page - 1) * limit
        lo = max(first, hi - limit)
        items = [fm_item(i) for i in range(hi - 1, lo - 1, -1)]
        attr = {"user": "bench", "page": str(page), "perPage": str(limit), "totalPages": str(pages)}
        return Reply(json={"recenttracks": {"track": items, "@attr": attr | {"total": str(total)}}})

    def doc(k: int) -> dict[str, Any]:
        artist = {"id": str(uuid.uuid5(NS, f"artist-{k % 800}")), "name": _artist(k), "sort-name": _artist(k)}
        return {
            "id": _mbid(k),
            "title": f"Title {k}",
            "length": _duration(k) * 1000,
            "artist-credit": [{"name": _artist(k), "joinphrase": "", "artist": artist}],
            "releases": [],
        }

    by_mbid = {_mbid(k): k for k in range(TRACKS)}
    phrase = re.compile(r'(\w+):"((?:[^"\\]|\\.)*)"')

    def mb_lookup(req: Request) -> Reply:
        k = by_mbid.get(req.params["mbid"])
        return Reply(json=doc(k)) if k is not None else Reply(404, json={"error": "Not Found"})

    def mb_search(req: Request) -> Reply:
        found = dict(phrase.findall(req.query.get("query", [""])[0]))
        title = found.get("recording", "").replace("\\", "")
        k = int(title.split()[-1]) if title.lower().startswith("title ") and title.split()[-1].isdigit() else -1
        docs = [doc(k)] if 0 <= k < TRACKS else []
        return Reply(json={"created": "2026-01-01T00:00:00.000Z", "count": len(docs), "offset": 0, "recordings": docs})

    with FakeWeb() as lbw, FakeWeb() as fmw, FakeWeb() as mbw:
        lbw.route("GET", "/1/user/bench/listens", lb_listens)
        fmw.route("GET", "/2.0/", fm_recent)
        mbw.route("GET", "/ws/2/recording/{mbid}", mb_lookup)
        mbw.route("GET", "/ws/2/recording", mb_search)
        port_q.put((lbw.base_url, fmw.url("/2.0/"), mbw.base_url, n, len(lb) + len(fm)))
        stop_q.get()
        port_q.put(len(mbw.requests))


async def _ingest(js: Any, lb_url: str, fm_url: str) -> float:
    from contracts.livesettings import UserAccounts
    from infra.http import ApiClient, HttpSettings, IntervalLimiter
    from ingest_svc.adapters.kv import KvCursorStore, KvListenGate
    from ingest_svc.adapters.lastfm import LastfmFeed
    from ingest_svc.adapters.listen_feeds import ListenBrainzFeed
    from ingest_svc.adapters.listenbrainz import ListenBrainz
    from ingest_svc.health import SourceHealth
    from ingest_svc.service import ListenService

    class Publisher:
        async def publish(self, event: Any) -> object:
            return await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})

    http = HttpSettings(BRAINSTREAM_HTTP_TIMEOUT=60, BRAINSTREAM_CONTACT="bench@example.org")
    account = UserAccounts(username="bench", listenbrainz_user="bench", lastfm_user="bench")
    async with (
        ApiClient("listenbrainz", lb_url, http, limiter=IntervalLimiter(0)) as lbc,
        ApiClient("lastfm", fm_url, http, limiter=IntervalLimiter(0)) as fmc,
    ):
        service = ListenService(
            await KvCursorStore.open(js), await KvListenGate.open(js), Publisher(), SourceHealth(), lookback_s=0
        )
        t0 = time.perf_counter()
        await asyncio.gather(
            service.poll("bench", account, ListenBrainzFeed(ListenBrainz(lbc), 1000), 0),
            service.poll("bench", account, LastfmFeed(fmc, "bench-key"), 0),
        )
        return time.perf_counter() - t0


async def _match(js: Any, nats_url: str, mb_url: str, expected: int) -> float:
    from infra.http import HttpSettings
    from resolve_svc.app import running
    from resolve_svc.settings import Settings

    settings = Settings(
        NATS_URL=nats_url,
        BRAINSTREAM_MUSICBRAINZ_URL=mb_url,
        BRAINSTREAM_MUSICBRAINZ_RATE=500.0,
        BRAINSTREAM_RATE_MARGIN=0.0,
        BRAINSTREAM_RESOLVE_WORKERS=16,
        BRAINSTREAM_RESOLVE_FETCH_BATCH=64,
    )
    t0 = time.perf_counter()
    async with running(settings, HttpSettings(BRAINSTREAM_CONTACT="bench@example.org")):
        while True:
            info = await js.consumer_info("INGEST", "resolve_listens")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - t0
    answers = (await js.stream_info("RESOLVE")).state.messages
    print(f"match answers published: {answers} (plays whose source's own MBID is the match need none)")
    return elapsed


async def _stages(nats_url: str, lb_url: str, fm_url: str, mb_url: str) -> tuple[float, float, int]:
    from infra.provision import provision

    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await provision(js)
    ingest_s = await _ingest(js, lb_url, fm_url)
    recorded = (await js.stream_info("INGEST")).state.messages
    match_s = await _match(js, nats_url, mb_url, recorded)
    await nc.close()
    return ingest_s, match_s, recorded


def main() -> None:
    from infra.natsserver import start_nats_server

    logging.basicConfig(level=logging.WARNING)
    for name in ("faststream", "faststream.access", "faststream.access.nats"):
        logging.getLogger(name).setLevel(logging.WARNING)  # one line per message would be the bench's own cost

    ctx = multiprocessing.get_context("spawn")
    port_q, stop_q = ctx.Queue(), ctx.Queue()
    fake = ctx.Process(target=_serve, args=(port_q, stop_q), daemon=True)
    fake.start()
    lb_url, fm_url, mb_url, distinct, listens = port_q.get(timeout=120)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_nats_server(Path(tmp), max_file_store=8 * 1024**3)
        try:
            ingest_s, match_s, recorded = asyncio.run(_stages(server.url, lb_url, fm_url, mb_url))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            store = Path(tmp) / "history.db"
            env = {**os.environ, "NATS_URL": server.url, "BRAINSTREAM_DATA_DIR": str(Path(tmp) / "data")}
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "infra.cli", "replay", "history", "--into", str(store), "--json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=1800,
                check=True,
            ).stdout
            store_s = time.perf_counter() - t0
            report = json.loads(out)
            import sqlite3

            conn = sqlite3.connect(store)
            rows = conn.execute("SELECT COUNT(*) FROM history_plays").fetchone()[0]
            matched = conn.execute("SELECT COUNT(*) FROM history_plays WHERE match_state = 'matched'").fetchone()[0]
            two = conn.execute("SELECT COUNT(*) FROM history_plays WHERE sources = 'lastfm,listenbrainz'").fetchone()[0]
            conn.close()
            child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        finally:
            server.stop()
    stop_q.put(True)
    mb_requests = port_q.get(timeout=30)
    fake.join(10)
    total = ingest_s + match_s + store_s
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"history: {listens} listens ({distinct} distinct plays of {TRACKS} tracks, power law), {recorded} recorded")
    print(f"ingest: {ingest_s:.1f} s, {recorded / ingest_s:,.0f} listens/s (both feeds at once)")
    print(f"match: {match_s:.1f} s, {recorded / match_s:,.0f} listens/s")
    print(f"store: {store_s:.1f} s, {recorded / store_s:,.0f} listens/s (fold: {report['events_per_s']:,.0f} events/s)")
    print(f"end to end: {total:.1f} s, {recorded / total:,.0f} listens/s stored and matched")
    print(f"MusicBrainz: {mb_requests} requests, {mb_requests / recorded:.4f} per listen (budget 0.05)")
    print(f"rows stored: {rows}, distinct plays: {distinct}, matched: {matched}, seen by both sources: {two}")
    print(f"peak RSS: {peak / 1024:.0f} MiB (ingest + resolve process), {child_peak / 1024:.0f} MiB (replay)")
    if rows != distinct:
        raise SystemExit("rows stored differ from distinct plays")
    if mb_requests / recorded > 0.05:
        raise SystemExit("over the MusicBrainz budget")


if __name__ == "__main__":
    main()
