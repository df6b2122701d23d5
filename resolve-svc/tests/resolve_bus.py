"""Publishing to and reading from the real bus in resolve-svc tests and the benchmark."""

from __future__ import annotations

import uuid

from nats.js import JetStreamContext
from resolve_catalog import mbid

from contracts.base import Message
from contracts.common import CandidateSource
from contracts.ingest import CandidateDiscovered
from contracts.resolve import TrackResolved, TrackUnresolved
from tests.support.wait import wait_until

__all__ = ["candidate", "outputs", "publish"]


async def publish(js: JetStreamContext, event: Message) -> None:
    await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})


async def outputs(js: JetStreamContext, n: int, timeout: float = 20.0) -> list[TrackResolved | TrackUnresolved]:
    async def count() -> int:
        return (await js.stream_info("RESOLVE")).state.messages

    await wait_until(count, timeout=timeout, predicate=lambda c: c >= n)
    out: list[TrackResolved | TrackUnresolved] = []
    for seq in range(1, (await count()) + 1):
        msg = await js.get_msg("RESOLVE", seq)
        cls = TrackResolved if msg.subject == TrackResolved.subject else TrackUnresolved
        out.append(cls.from_json(msg.data or b""))
    return out


def candidate(key: str, pos: int = 0) -> CandidateDiscovered:
    return CandidateDiscovered(
        recording_mbid=uuid.UUID(mbid(key)), source=CandidateSource.CF, run_id=uuid.uuid4(), position=pos, user="ana"
    )
