"""A three-node NATS JetStream cluster of real nats-server processes for a test, torn down after it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from infra.natscluster import NatsCluster, start_nats_cluster, wait_jetstream_ready

__all__ = ["nats_cluster", "stream_healthy"]


@pytest.fixture
async def nats_cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    cluster = start_nats_cluster(tmp_path / "cluster", 3, max_file_store=8 * 1024 * 1024 * 1024)
    try:
        await wait_jetstream_ready(cluster.url, timeout=60, replicas=3)
        yield cluster
    finally:
        cluster.stop()


def stream_healthy(entry: dict[str, object], replicas: int = 3) -> bool:
    """A `brainstream status` stream entry with its copies, a leader and no peer behind."""
    return entry.get("replicas") == replicas and bool(entry.get("leader")) and entry.get("lagging") == []
