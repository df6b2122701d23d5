"""A play MusicBrainz does not know is kept with its reason, asked again by the history store's back-off loop, and
matched once the fake MusicBrainz knows it: real nats-server, resolve-svc running, the store's own fold and loop."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from contracts.catalog import CATALOG
from contracts.ingest import ListenRecorded
from gateway.history.fold import HistoryFold
from gateway.history.live import Rematcher
from gateway.history.schema import connect
from infra.http import HttpSettings
from resolve_svc.app import running
from resolve_svc.settings import Settings

from ..support.fakeweb import FakeWeb, Reply, Request
from ..support.nats import NatsEndpoint
from ..support.wait import wait_until

MBID = "7e1c5b0a-3d2f-4c8e-9a6b-5f4e3d2c1b0a"


class FakeMusicBrainz:
    """Lookup and search; `known` grows during the test, as MusicBrainz's data does."""

    def __init__(self, web: FakeWeb) -> None:
        self.known: dict[str, dict[str, Any]] = {}
        web.route("GET", "/ws/2/recording/{mbid}", self._lookup)
        web.route("GET", "/ws/2/recording", self._search)

    def learn(self, mbid: str, artist: str, title: str, length_ms: int) -> None:
        credit = [{"name": artist, "joinphrase": "", "artist": {"id": str(uuid.uuid4()), "name": artist}}]
        self.known[mbid] = {"id": mbid, "title": title, "length": length_ms, "artist-credit": credit, "releases": []}

    def _lookup(self, req: Request) -> Reply:
        doc = self.known.get(req.params["mbid"])
        return Reply(json=doc) if doc else Reply(404, json={"error": "Not Found"})

    def _search(self, req: Request) -> Reply:
        query = req.query.get("query", [""])[0].lower()
        found = [d for d in self.known.values() if f'recording:"{d["title"].lower()}"' in query]
        return Reply(
            json={"created": "2026-01-01T00:00:00.000Z", "count": len(found), "offset": 0, "recordings": found}
        )


async def fold_all(js: JetStreamContext, fold: HistoryFold) -> None:
    for stream in ("INGEST", "RESOLVE"):
        last = (await js.stream_info(stream)).state.last_seq
        batch = []
        for seq in range(1, last + 1):
            msg = await js.get_msg(stream, seq)
            batch.append((CATALOG[msg.subject].from_json(msg.data or b""), stream, seq))
        fold.apply(batch)


def state_of(fold: HistoryFold) -> tuple[str, str | None, str | None, int]:
    row = fold.conn.execute(
        "SELECT match_state, recording_mbid, unmatched_reason, match_attempts FROM history_plays"
    ).fetchone()
    return tuple(row) if row else ("absent", None, None, 0)  # type: ignore[return-value]


async def test_unmatched_play_matched_later(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path
) -> None:
    js = provisioned
    fold = HistoryFold(connect(tmp_path / "history.db"))

    async def publish(event: Any) -> object:
        return await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})

    rematcher = Rematcher(fold.conn, publish, base_s=0.0, cap_s=0.0)
    with FakeWeb() as web:
        mb = FakeMusicBrainz(web)
        settings = Settings(
            NATS_URL=nats_endpoint.url,
            BRAINSTREAM_MUSICBRAINZ_URL=web.base_url,
            BRAINSTREAM_MUSICBRAINZ_RATE=50.0,
        )
        play = ListenRecorded(
            user="ana",
            source="lastfm",
            listened_at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
            artist="Cold Harbour",
            title="Lanterns",
            duration_ms=215_000,
        )
        async with running(settings, HttpSettings(BRAINSTREAM_CONTACT="tests@example.org")):
            await publish(play)

            async def folded() -> tuple[str, str | None, str | None, int]:
                await fold_all(js, fold)
                return state_of(fold)

            assert await wait_until(folded, timeout=30, predicate=lambda s: s[0] == "unmatched") == (
                "unmatched",
                None,
                "not_found",
                1,
            )
            mb.learn(MBID, "Cold Harbour", "Lanterns", 215_000)  # MusicBrainz knows it now
            assert await rematcher.round() == 1
            assert await rematcher.round() == 1  # asked again before the answer: the same command id, stored once
            final = await wait_until(folded, timeout=30, predicate=lambda s: s[0] == "matched")
    assert final == ("matched", MBID, None, 2)
    subjects = (await js.stream_info("GATEWAY", subjects_filter="gateway.listen.match_requested")).state.subjects
    assert (subjects or {}).get("gateway.listen.match_requested") == 1
    await asyncio.to_thread(fold.conn.close)
