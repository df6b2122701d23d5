"""The live feed keeps the newest BRAINSTREAM_FEED_KEEP events; a resume from before them gets a `reset`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session, func, select

from contracts.gateway import RequestTrack
from gateway.db import make_engine
from gateway.readmodel.feed import format_cursor
from gateway.readmodel.projection import Projection
from gateway.readmodel.queries import Scope, View
from gateway.readmodel.rows import FeedRow, TrackRow
from tests.support.wait import wait_until

from .test_api import publish


def _request(n: int) -> RequestTrack:
    return RequestTrack(request_id=uuid.uuid4(), query={"artist": f"Artist {n}", "title": "Song"}, user="admin")


def test_feed_is_pruned_to_the_newest_events_and_remembers_what_it_dropped(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "gateway.db")
    projection, view = Projection(engine, feed_keep=100), View(engine)
    for seq in range(1, 251):
        projection.apply(_request(seq), "GATEWAY", seq)
    with Session(engine) as s:
        kept = sorted(s.exec(select(FeedRow.seq)).all())
        tracks = s.exec(select(func.count()).select_from(TrackRow)).one()
    assert 100 <= len(kept) <= 110 and kept[-1] == 250 and kept == list(range(kept[0], 251))
    assert view.feed_horizon() == {"GATEWAY": kept[0] - 1}
    assert tracks == 250  # only the feed is pruned, never a journey
    # a resume inside what is kept still replays exactly the events after it
    after = view.feed_after(Scope("admin", True), {"GATEWAY": 245})
    assert [r.seq for r in after] == [246, 247, 248, 249, 250]


async def _sse_head(client: Any, last_event_id: str, frames: int) -> list[dict[str, str]]:
    """The first `frames` events of a resumed stream, each as its fields (id, event, data)."""
    out: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async with client.stream("GET", "/api/events", headers={"Last-Event-ID": last_event_id}) as sse:
        async for line in sse.aiter_lines():
            if not line:
                if "event" in current:
                    out.append(current)
                    if len(out) == frames:
                        break
                current = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                current[key] = value
    return out


async def test_resume_from_before_the_kept_feed_gets_a_reset(
    gateway_factory: Callable[..., Any], nats_endpoint: Any
) -> None:
    gw = await gateway_factory(BRAINSTREAM_FEED_KEEP=100)
    await publish(nats_endpoint.url, *(_request(n) for n in range(130)))
    await wait_until(lambda: gw.state.projection.checkpoints().get("GATEWAY", 0) >= 130, timeout=60)
    now = gw.state.projection.checkpoints()
    c = await gw.login()
    [reset] = await _sse_head(c, "0-0-0-0-1", 1)
    assert reset["event"] == "reset" and "older than the kept feed" in reset["data"]
    assert reset["id"] == format_cursor(now)  # it goes on from now
    # a cursor inside the kept feed resumes exactly
    last = now["GATEWAY"]
    recent = await _sse_head(c, format_cursor({**now, "GATEWAY": last - 3}), 3)
    assert [(f["event"], f["id"]) for f in recent] == [
        ("pipeline", format_cursor({**now, "GATEWAY": n})) for n in (last - 2, last - 1, last)
    ]
    await c.aclose()
