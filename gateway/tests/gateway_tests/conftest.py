"""A real gateway (uvicorn, real NATS, real SQLite) in the test's event loop, in front of fake upstreams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from nats.js import JetStreamContext

from gateway.settings import Settings
from tests.support.fakeweb import FakeWeb
from tests.support.nats import NatsEndpoint
from tests.support.stack import free_port

from .gateway_fakes import FakeSubsonic

ADMIN, ADMIN_PASSWORD = "admin", "admin-password-1"


@dataclass
class RunningGateway:
    url: str
    settings: Settings
    app: Any

    @property
    def state(self) -> Any:
        return self.app.state

    def app_password(self, user: str = ADMIN) -> str:
        password = self.state.users.app_password(user)
        assert password
        return str(password)

    async def login(self, user: str = ADMIN, password: str = ADMIN_PASSWORD) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.url, timeout=10)
        resp = await client.post("/api/login", json={"username": user, "password": password})
        assert resp.status_code == 201, resp.text
        client.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
        return client

    async def token(self) -> str:
        c = await self.login()
        try:
            resp = await c.post("/api/me/tokens", json={"name": "tests"})
            return str(resp.json()["token"])
        finally:
            await c.aclose()


@pytest.fixture
def fake_library() -> Iterator[FakeSubsonic]:
    with FakeWeb() as web:
        yield FakeSubsonic(web)


@pytest.fixture
def fake_navidrome() -> Iterator[FakeSubsonic]:
    with FakeWeb() as web:
        yield FakeSubsonic(web, navidrome=True)


@pytest.fixture
async def gateway_factory(
    provisioned: JetStreamContext, nats_endpoint: NatsEndpoint, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    servers: list[uvicorn.Server] = []
    tasks: list[asyncio.Task[None]] = []

    async def start(**overrides: Any) -> RunningGateway:
        from gateway.app import create_app, front_door

        port = free_port()
        values: dict[str, Any] = {
            "NATS_URL": nats_endpoint.url,
            "BRAINSTREAM_DATA_DIR": str(tmp_path / f"data-{port}"),
            "BRAINSTREAM_HTTP_PORT": port,
            "BRAINSTREAM_ADMIN_USER": ADMIN,
            "BRAINSTREAM_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "BRAINSTREAM_SSE_KEEPALIVE": 0.5,
        }
        values.update(overrides)
        settings = Settings(**values)
        app = create_app(settings)
        server = uvicorn.Server(
            uvicorn.Config(
                front_door(app), host="127.0.0.1", port=port, log_config=None, lifespan="on", proxy_headers=False
            )
        )
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve()))
        for _ in range(400):
            if server.started:
                break
            if tasks[-1].done():
                tasks[-1].result()
            await asyncio.sleep(0.025)
        assert server.started, "gateway did not start"
        return RunningGateway(f"http://127.0.0.1:{port}", settings, app)

    yield start
    for server in servers:
        server.should_exit = True
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 15)


@pytest.fixture
async def gateway(gateway_factory: Callable[..., Any], fake_library: FakeSubsonic) -> AsyncIterator[RunningGateway]:
    gw = await gateway_factory(BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url)
    yield gw
