"""Logging for every process: JSON lines when not on a terminal, readable lines on one.

A log record about a track carries its `correlation_id` (pass `extra={"correlation_id": ...}`, or run inside
`correlation(...)`), so `grep` on one id shows one track's journey across services.

Every line is written with the query strings and user-info of the URLs in it replaced by `<redacted>`
(`redact_urls`): URLs that people submit can carry tokens (signed links, `?key=`), and /rest URLs carry credentials.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

__all__ = ["configure_logging", "correlation", "redact_urls"]

_URL_QUERY = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://[^\s?#"'<>]+)\?[^\s#"'<>]*""")
_URL_USERINFO = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@"'<>]+@""")

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


@contextlib.contextmanager
def correlation(correlation_id: object) -> Iterator[None]:
    token = _correlation.set(None if correlation_id is None else str(correlation_id))
    try:
        yield
    finally:
        _correlation.reset(token)


def redact_urls(text: str) -> str:
    """`text` with each URL's query and user-info replaced: `https://h/p?token=x` → `https://h/p?<redacted>`."""
    if "://" not in text:
        return text
    return _URL_USERINFO.sub(r"\1<redacted>@", _URL_QUERY.sub(r"\1?<redacted>", text))


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if not getattr(record, "correlation_id", None):
            record.correlation_id = _correlation.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return redact_urls(json.dumps(out, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = redact_urls(super().format(record))
        cid = getattr(record, "correlation_id", None)
        return f"{line} [{str(cid)[:8]}]" if cid else line


def configure_logging(service: str, level: str | None = None, json_lines: bool | None = None) -> None:
    level = (level or os.environ.get("BRAINSTREAM_LOG_LEVEL") or "INFO").upper()
    if json_lines is None:
        env = os.environ.get("BRAINSTREAM_LOG_JSON")
        json_lines = env.lower() in ("1", "true", "yes") if env else not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter(f"%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # the NATS client and FastStream log every message at INFO; keep them to warnings
    for noisy in ("faststream", "nats", "faststream.access.nats", "httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
