"""What an endpoint answers: a payload to render, a file, bytes already rendered, or a body made while sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BytesReply", "FileReply", "Reply", "StreamReply"]


@dataclass(frozen=True)
class FileReply:
    path: Path
    content_type: str


@dataclass(frozen=True)
class BytesReply:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class StreamReply:
    """A body made while it is sent (a transcode): no ranges. The server closes `chunks` when the client goes away,
    which stops the work behind it. With a `length` (Subsonic's estimateContentLength) exactly that many bytes are
    sent: cut short (the rest is not made) or padded with zeros, which decoders skip."""

    chunks: AsyncIterator[bytes]
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()
    length: int | None = None


Reply = dict[str, Any] | FileReply | BytesReply | StreamReply
