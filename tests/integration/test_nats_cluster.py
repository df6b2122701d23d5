"""A three-node JetStream cluster of real nats-server processes: replicas raised in place, a node lost and back."""

from __future__ import annotations

import json
import uuid
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.kv import KeyValue

from contracts.buckets import KV_BUCKETS
from contracts.topology import STREAMS
from infra.natscluster import NatsCluster
from infra.provision import REPLICAS_ENV, ProvisionError, provision, replicas_setting
from infra.status import gather_status
from tests.support.natscluster import nats_cluster, stream_healthy
from tests.support.wait import wait_until

__all__ = ["nats_cluster"]  # the fixture, imported to be used here


def test_the_replicas_setting_is_one_by_default_and_refuses_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REPLICAS_ENV, raising=False)
    assert replicas_setting() == 1
    monkeypatch.setenv(REPLICAS_ENV, "3")
    assert replicas_setting() == 3
    for bad in ("0", "7", "three"):
        monkeypatch.setenv(REPLICAS_ENV, bad)
        with pytest.raises(ValueError, match=REPLICAS_ENV):
            replicas_setting()


async def _status_streams(url: str) -> dict[str, dict[str, Any]]:
    try:
        status = await gather_status(url, timeout=0.2)
    except (NatsError, OSError, TimeoutError):
        return {}  # a node just went: the cluster's answer can take a moment; the caller polls
    return {s["name"]: s for s in status["streams"]}


async def _try_publish(js: JetStreamContext, n: int) -> bool:
    try:
        await js.publish("ingest.test.recorded", json.dumps({"n": n}).encode(), timeout=2)
    except (NatsError, TimeoutError):
        return False
    return True


async def _bucket(js: JetStreamContext, name: str) -> KeyValue | None:
    try:
        return await js.key_value(name)
    except (NatsError, TimeoutError):
        return None


async def _connect(cluster: NatsCluster) -> NatsClient:
    return await nats.connect(cluster.urls, name="cluster-test", max_reconnect_attempts=-1, reconnect_time_wait=0.2)


async def test_provision_raises_replicas_in_place_and_a_lost_node_loses_nothing(
    nats_cluster: NatsCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    nc = await _connect(nats_cluster)
    try:
        js = nc.jetstream()
        monkeypatch.delenv(REPLICAS_ENV, raising=False)
        await provision(js)  # a deployment that began on one copy
        assert (await js.stream_info("INGEST")).config.num_replicas == 1
        for i in range(40):
            await js.publish("ingest.test.recorded", json.dumps({"n": i}).encode())
        await js.add_consumer(
            "INGEST", ConsumerConfig(durable_name="cluster_test", ack_policy=AckPolicy.EXPLICIT, num_replicas=1)
        )
        sub = await js.pull_subscribe_bind("cluster_test", "INGEST")
        for msg in await sub.fetch(10, timeout=5):
            await msg.ack_sync()

        monkeypatch.setenv(REPLICAS_ENV, "3")
        report = await provision(js)  # the operator's `brainstream provision` after raising the setting
        assert {f"stream {s.name}" for s in STREAMS} <= set(report.updated)
        assert {f"kv {k.bucket}" for k in KV_BUCKETS} <= set(report.updated)
        for spec in STREAMS:
            assert (await js.stream_info(spec.name)).config.num_replicas == 3
        assert (await js.stream_info("KV_pipeline_gate")).config.num_replicas == 3
        assert (await js.consumer_info("RESOLVE", "acquire_resolved")).config.num_replicas == 3
        assert (await js.stream_info("INGEST")).state.messages == 40  # nothing lost by the change
        assert (await provision(js)).updated == []  # and it is idempotent

        streams = await wait_until(
            lambda: _status_streams(nats_cluster.url),
            timeout=60,
            interval=0.2,
            predicate=lambda ss: bool(ss) and all(stream_healthy(ss[s.name]) for s in STREAMS),
        )
        leader = streams["INGEST"]["leader"]
        victim = int(leader.rsplit("-", 1)[1]) - 1

        nats_cluster.kill(victim)  # the machine that led INGEST is gone
        # the two left elect a new leader within seconds and take writes again; until then a write has no answer,
        # and a publisher tries again (as a service's handler does, by failing the attempt)
        first = await wait_until(
            lambda: _try_publish(js, 40), timeout=30, interval=0.2, predicate=lambda ok: ok is True
        )
        assert first
        for i in range(41, 60):
            await js.publish("ingest.test.recorded", json.dumps({"n": i}).encode(), timeout=10)
        gate = await wait_until(lambda: _bucket(js, "pipeline_gate"), timeout=30, interval=0.2)
        await gate.create(f"k{uuid.uuid4().hex}", b"x")  # the KV gate works on the two nodes left
        # status names the new leader, and the lost node as a peer that is offline or behind
        await wait_until(
            lambda: _status_streams(nats_cluster.url),
            timeout=60,
            interval=0.5,
            predicate=lambda ss: (
                "INGEST" in ss
                and ss["INGEST"]["leader"] not in (None, leader)
                and any(p["name"] == leader for p in ss["INGEST"]["lagging"])
            ),
        )

        nats_cluster.start_node(victim)
        await wait_until(
            lambda: _status_streams(nats_cluster.url),
            timeout=60,
            interval=0.2,
            predicate=lambda ss: bool(ss) and all(stream_healthy(ss[s.name]) for s in STREAMS),
        )
        assert (await js.stream_info("INGEST")).state.messages == 60
        rest = [m for m in await sub.fetch(100, timeout=5)]
        assert len(rest) == 50  # the consumer remembered its acks across the loss: nothing doubled, nothing lost
        assert sorted(json.loads(m.data)["n"] for m in rest) == list(range(10, 60))
    finally:
        await nc.close()


async def test_more_replicas_than_nodes_is_refused_with_what_to_change(nats_cluster: NatsCluster) -> None:
    nc = await _connect(nats_cluster)
    try:
        with pytest.raises(ProvisionError, match=r"5 replicas.*at least 5 JetStream nodes"):
            await provision(nc.jetstream(), 5)
    finally:
        await nc.close()
