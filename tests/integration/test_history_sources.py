"""One play reported by ListenBrainz, by Last.fm (a few seconds off) and by a Subsonic scrobble, through ingest-svc's
real feeds and listen gate on a real nats-server, becomes one row with three sources in the history store; a real
repeat stays two rows. Whatever order the sources are read in, the store is the same, and folding the stream again
gives it once more."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nats.js import JetStreamContext

from contracts.catalog import CATALOG
from contracts.gateway import ScrobbleSubmitted
from contracts.livesettings import UserAccounts
from gateway.history.fold import HistoryFold
from gateway.history.replayable import HistoryProjection
from gateway.history.schema import connect
from infra.http import ApiClient, HttpSettings, IntervalLimiter
from ingest_svc.adapters.kv import KvCursorStore, KvListenGate
from ingest_svc.adapters.lastfm import LastfmFeed
from ingest_svc.adapters.listen_feeds import ListenBrainzFeed
from ingest_svc.adapters.listenbrainz import ListenBrainz
from ingest_svc.health import SourceHealth
from ingest_svc.service import ListenService
from ingest_svc.service.scrobbles import listen_from_scrobble

from ..support.fakeweb import FakeWeb, Reply, Request

T = 1_777_636_800  # 2026-05-01 12:00:00 UTC
MBID = "2f2f0b8e-7f2b-4a4a-9d6e-1c3a5b7d9e01"
SONG = 200  # seconds
ALICE = UserAccounts(username="alice", listenbrainz_user="alice-lb", lastfm_user="alice-fm")


def lb_listen(ts: int, n: int) -> dict[str, Any]:
    return {
        "listened_at": ts,
        "recording_msid": f"msid-{n}",
        "track_metadata": {
            "artist_name": "Cold Harbour",
            "track_name": "Northern Light",
            "release_name": "Tidewater",
            "additional_info": {"recording_msid": f"msid-{n}", "duration_ms": SONG * 1000},
            "mbid_mapping": {"recording_mbid": MBID},
        },
        "user_name": "alice-lb",
    }


def fm_track(ts: int) -> dict[str, Any]:
    return {
        "artist": {"#text": "Cold Harbour", "mbid": ""},
        "name": "Northern Light (Remastered 2011)",
        "mbid": "",
        "album": {"#text": "Tidewater", "mbid": ""},
        "date": {"uts": str(ts), "#text": ""},
    }


def serve(web: FakeWeb, lb: list[dict[str, Any]], fm: list[dict[str, Any]]) -> None:
    def listens(req: Request) -> Reply:
        min_ts = int(req.query.get("min_ts", ["0"])[0])
        page = sorted((x for x in lb if x["listened_at"] > min_ts), key=lambda x: -x["listened_at"])
        return Reply(json={"payload": {"count": len(page), "listens": page, "user_id": "alice-lb"}})

    def recent(req: Request) -> Reply:
        since = int(req.query.get("from", ["0"])[0])
        items = sorted((t for t in fm if int(t["date"]["uts"]) >= since), key=lambda t: -int(t["date"]["uts"]))
        attr = {"user": "alice-fm", "page": "1", "perPage": "200", "totalPages": "1", "total": str(len(items))}
        return Reply(json={"recenttracks": {"track": items, "@attr": attr}})

    web.route("GET", "/1/user/alice-lb/listens", listens)
    web.route("GET", "/2.0/", recent)


class _Publisher:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish(self, event: Any) -> object:
        return await self.js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})


async def fold_stream(js: JetStreamContext, store: Path) -> dict[str, list[tuple[Any, ...]]]:
    fold = HistoryFold(connect(store))
    last = (await js.stream_info("INGEST")).state.last_seq
    batch = []
    for seq in range(1, last + 1):
        msg = await js.get_msg("INGEST", seq)
        batch.append((CATALOG[msg.subject].from_json(msg.data or b""), "INGEST", seq))
    fold.apply(batch)
    fold.apply(batch)  # a redelivery of everything changes nothing
    fold.conn.close()
    dump = HistoryProjection().dump(store)
    dump.pop("history_checkpoints")
    # sighting and play ids are the events' ids, which differ between runs: compare what they say
    return {
        "plays": sorted((r[2], r[11], r[8]) for r in dump["history_plays"]),  # (start, sources, recording)
        "sightings": sorted((r[2], r[4]) for r in dump["history_sightings"]),
    }


@pytest.mark.parametrize("order", ["lb,lastfm,subsonic", "subsonic,lastfm,lb", "lastfm,subsonic,lb"])
async def test_three_sources_one_row_and_a_repeat_two(
    order: str, provisioned: JetStreamContext, tmp_path: Path
) -> None:
    js = provisioned
    second = T + SONG + 30  # a real repeat, half a minute after the first play ended
    scrobble = ScrobbleSubmitted(
        event_id=uuid.uuid4(),
        user="alice",
        song_id="s-1",
        played_at=datetime.fromtimestamp(T - 2, UTC),
        client="Feishin",
        recording_mbid=uuid.UUID(MBID),
        artist="Cold Harbour",
        title="Northern Light",
        album="Tidewater",
        duration_ms=SONG * 1000,
    )
    http = HttpSettings(BRAINSTREAM_CONTACT="tests@example.org", BRAINSTREAM_HTTP_RETRIES=0)
    with FakeWeb() as web:
        serve(web, [lb_listen(T, 1), lb_listen(second, 2)], [fm_track(T + 4), fm_track(second + 3)])
        async with (
            ApiClient("listenbrainz", web.base_url, http, limiter=IntervalLimiter(0)) as lbc,
            ApiClient("lastfm", web.url("/2.0/"), http, limiter=IntervalLimiter(0)) as fmc,
        ):
            service = ListenService(
                await KvCursorStore.open(js), await KvListenGate.open(js), _Publisher(js), SourceHealth(), lookback_s=0
            )
            for source in order.split(","):
                if source == "lb":
                    await service.poll("alice", ALICE, ListenBrainzFeed(ListenBrainz(lbc)), 0)
                elif source == "lastfm":
                    await service.poll("alice", ALICE, LastfmFeed(fmc, "fm-key"), 0)
                else:
                    await service.record("alice", listen_from_scrobble(scrobble), cause=scrobble)
                    await service.record("alice", listen_from_scrobble(scrobble), cause=scrobble)  # a client retry
    assert (await js.stream_info("INGEST")).state.messages == 5

    got = await fold_stream(js, tmp_path / "h.db")
    first_at = datetime.fromtimestamp(T - 2, UTC).isoformat()
    second_at = datetime.fromtimestamp(second, UTC).isoformat()
    assert got["plays"] == [
        (first_at, "lastfm,listenbrainz,subsonic", MBID),
        (second_at, "lastfm,listenbrainz", MBID),
    ]
    # the same expected store in every order of the parametrization
    assert [source for source, _ in got["sightings"]] == sorted(["lastfm"] * 2 + ["listenbrainz"] * 2 + ["subsonic"])
