"""What the endpoints work with, built by the composition root: the stores, the use cases and two policies (where
blocking work runs, and which rendered responses are reused)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contracts.base import Message

from ..domain.versions import Versions
from ..ports import CatalogReads
from .render import SubsonicError
from .replies import Reply
from .request import Request
from .respcache import ResponseCache
from .threads import Threads

if TYPE_CHECKING:
    from ..adapters.extrastore import ExtraStore
    from ..adapters.userdata import UserStore
    from ..info.service import Info
    from ..media.support import Media
    from ..scanning import Scanner

__all__ = ["ApiContext", "Endpoint"]


@dataclass
class ApiContext:
    reader: CatalogReads
    store: UserStore
    root: Path
    scanner: Scanner
    publish: Callable[[Message], Awaitable[object]]
    server_version: str
    now_playing: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: Versions = field(default_factory=Versions)
    extras: ExtraStore | None = None
    """Bookmarks, internet radio stations, the info cache."""
    media: Media | None = None
    """Transcoder, cover cache, player rules (None: files and covers as stored)."""
    info: Info | None = None
    """Artist/album info, top and similar songs (None: empty answers)."""
    threads: Threads = field(init=False)
    responses: ResponseCache = field(init=False)

    def __post_init__(self) -> None:
        self.threads = Threads(self.reader)
        self.responses = ResponseCache(self.versions, self.server_version)

    @property
    def extra_store(self) -> ExtraStore:
        """The store of bookmarks and stations, or a Subsonic error where this server was built without one."""
        if self.extras is None:
            raise SubsonicError(0, "Bookmarks and internet radio stations are not available on this server")
        return self.extras


Endpoint = Callable[[ApiContext, Request], Awaitable[Reply]]
