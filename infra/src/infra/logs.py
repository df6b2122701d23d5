"""Logging for every process: JSON lines when not on a terminal, readable lines on one.

A log record about a track carries its `correlation_id` (pass `extra={"correlation_id": ...}`, or run inside
`correlation(...)`), so `grep` on one id shows one track's journey across services.

Identical warnings and errors are summarised, not repeated: within `BRAINSTREAM_LOG_REPEAT_S` seconds (60) of the
one shown, the same failure is counted instead of logged, and the next one shown after that says how many were held
back. "The same" is the same message, or the same `repeat_key` (pass `extra={"repeat_key": ...}`): the runtime keys
a failed delivery by its consumer and reason, so twelve tracks waiting on an unreachable MusicBrainz make one line.

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
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from datetime import UTC, datetime

__all__ = ["RepeatSummary", "configure_logging", "correlation", "redact_urls"]

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


class RepeatSummary(logging.Filter):
    """Let a warning or error through once per `window_s` for each key; count the ones held back in between.

    The next one let through carries `repeated` (how many were held back) and `repeated_since` (when the last one
    shown was logged); the formatters add them to the line.
    """

    _MAX_KEYS = 2000

    def __init__(self, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[Hashable, tuple[float, float, int]] = {}  # key → (shown at, its wall time, held back)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or self.window_s <= 0:
            return True
        key = getattr(record, "repeat_key", None) or (record.name, record.levelno, str(record.msg), str(record.args))
        now = self._clock()
        with self._lock:
            shown = self._seen.get(key)
            if shown is not None and now - shown[0] < self.window_s:
                self._seen[key] = (shown[0], shown[1], shown[2] + 1)
                return False
            if len(self._seen) >= self._MAX_KEYS:
                self._seen = {k: v for k, v in self._seen.items() if now - v[0] < self.window_s}
            self._seen[key] = (now, record.created, 0)
        if shown is not None and shown[2]:
            record.repeated = shown[2]
            record.repeated_since = datetime.fromtimestamp(shown[1], UTC).isoformat(timespec="seconds")
        return True


def _repeat_note(record: logging.LogRecord) -> str:
    held = getattr(record, "repeated", 0)
    if not held:
        return ""
    since = datetime.fromisoformat(getattr(record, "repeated_since", "")).astimezone().strftime("%H:%M:%S")
    return f" (and {held} more like it since {since})"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage() + _repeat_note(record),
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
        note = _repeat_note(record)
        if note:  # before the traceback, if any, on the message's own line
            first, nl, rest = line.partition("\n")
            line = first + note + nl + rest
        cid = getattr(record, "correlation_id", None)
        return f"{line} [{str(cid)[:8]}]" if cid else line


def configure_logging(service: str, level: str | None = None, json_lines: bool | None = None) -> None:
    level = (level or os.environ.get("BRAINSTREAM_LOG_LEVEL") or "INFO").upper()
    if json_lines is None:
        env = os.environ.get("BRAINSTREAM_LOG_JSON")
        json_lines = env.lower() in ("1", "true", "yes") if env else not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    handler.addFilter(RepeatSummary(float(os.environ.get("BRAINSTREAM_LOG_REPEAT_S") or 60)))
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
