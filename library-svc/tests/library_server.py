"""The Subsonic API served by uvicorn on a free loopback port, in a thread of its own (sync clients can call it)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from library_fakes import RecordingPublisher
from sqlalchemy import Engine

from library_svc.adapters.catalog import SqlCatalog
from library_svc.adapters.extrastore import ExtraStore
from library_svc.adapters.userdata import UserStore
from library_svc.api.asgi import SubsonicApp
from library_svc.api.reads import CatalogReader
from library_svc.api.request import ApiContext
from library_svc.api.server import EmbeddedServer
from library_svc.domain.versions import Versions
from library_svc.scanning import Scanner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ApiServer:
    def __init__(
        self,
        engine: Engine,
        root: Path,
        scanner: Scanner,
        publish: RecordingPublisher,
        *,
        media: Any = None,
        info: Any = None,
    ) -> None:
        self.port = free_port()
        self.publish = publish
        versions = Versions()
        store = UserStore(engine, on_change=versions.bump_user)
        extras = ExtraStore(engine, on_change=versions.bump_user)
        self.ctx = ApiContext(
            CatalogReader(engine, versions),
            store,
            root,
            scanner,
            publish,
            "test",
            versions=versions,
            extras=extras,
            media=media,
            info=info,
        )
        scanner.catalog = SqlCatalog(engine, on_change=versions.bump_catalog)
        config = uvicorn.Config(
            SubsonicApp(self.ctx), host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        self.server = EmbeddedServer(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
