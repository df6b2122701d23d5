"""`python -m gateway rebuild`: wipe the read model and fold every stored event again (gateway stopped)."""

from __future__ import annotations

import asyncio
import logging

import nats
from sqlmodel import Session, delete

from infra.logs import configure_logging

from . import SERVICE
from .db import make_engine
from .readmodel.projection import Projection
from .readmodel.replay import replay
from .readmodel.rows import CheckpointRow, FeedHorizonRow, FeedRow, RetrainRow, RunRow, TimelineRow, TrackRow
from .settings import Settings

__all__ = ["main", "rebuild"]

log = logging.getLogger(__name__)


async def rebuild(settings: Settings) -> int:
    engine = make_engine(settings.data_dir / "gateway" / "gateway.db")
    with Session(engine) as s:
        for table in (TimelineRow, TrackRow, RunRow, RetrainRow, FeedRow, FeedHorizonRow, CheckpointRow):
            s.exec(delete(table))  # type: ignore[call-overload]
        s.commit()
    nc = await nats.connect(
        settings.nats_url.split(","), name=f"{SERVICE}-rebuild", **settings.nats_credentials.connect_options()
    )
    try:
        return await replay(nc.jetstream(), Projection(engine))
    finally:
        await nc.close()


def main() -> None:
    configure_logging(SERVICE)
    seen = asyncio.run(rebuild(Settings()))
    log.info("read model rebuilt from %d stored events", seen)
