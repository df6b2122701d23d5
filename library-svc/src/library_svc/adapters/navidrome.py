"""Navidrome scan trigger: once imports settle (debounced), `startScan`, then poll `getScanStatus` to the end."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from typing import Any

from contracts.base import Message
from contracts.library import ScanCompleted, ScanFailed, ScanTarget
from infra.http import ApiClient, ExternalError, SourceUnavailable

from ..ports import Publisher

__all__ = ["NavidromeScanTrigger", "ScanProblem"]

log = logging.getLogger(__name__)


class ScanProblem(Exception):
    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class NavidromeScanTrigger:
    def __init__(
        self,
        client: ApiClient,
        user: str,
        password: str,
        publish: Publisher,
        *,
        debounce_s: float,
        timeout_s: float,
        poll_s: float = 1.0,
    ) -> None:
        self._client = client
        self._user = user
        self._password = password
        self._publish = publish
        self.debounce_s = debounce_s
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self._dirty = asyncio.Event()
        self.last_outcome: Message | None = None

    def poke(self) -> None:
        """An import landed: start (or push back) the quiet period before the scan."""
        self._dirty.set()

    async def run(self) -> None:
        """Background loop; a failure is published and the loop goes on with the next batch of imports."""
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            while True:  # each further import starts the quiet period over
                try:
                    await asyncio.wait_for(self._dirty.wait(), timeout=self.debounce_s)
                except TimeoutError:
                    break
                self._dirty.clear()
            await self.scan_once()

    def _auth(self) -> dict[str, str]:
        salt = secrets.token_hex(8)
        token = hashlib.md5((self._password + salt).encode(), usedforsecurity=False).hexdigest()
        return {"u": self._user, "t": token, "s": salt, "v": "1.16.1", "c": "brainstream", "f": "json"}

    async def _call(self, method: str) -> dict[str, Any]:
        try:
            data = await self._client.get_json(f"/rest/{method}", params=self._auth())
        except SourceUnavailable as exc:
            raise ScanProblem("unreachable", str(exc)) from exc
        except ExternalError as exc:
            reason = "auth_failed" if exc.status in (401, 403) else "upstream_error"
            raise ScanProblem(reason, str(exc)) from exc
        body = (data or {}).get("subsonic-response") if isinstance(data, dict) else None
        if not isinstance(body, dict):
            raise ScanProblem("upstream_error", f"{method}: not a Subsonic response")
        if body.get("status") != "ok":
            error = body.get("error") or {}
            code = error.get("code")
            reason = "auth_failed" if code in (40, 41, 50) else "upstream_error"
            raise ScanProblem(reason, f"{method}: {error.get('message', 'failed')} (code {code})")
        status = body.get("scanStatus")
        return status if isinstance(status, dict) else {}

    async def scan_once(self) -> Message:
        started = time.monotonic()
        outcome: Message
        try:
            await self._call("startScan")
            while True:
                status = await self._call("getScanStatus")
                if not status.get("scanning", False):
                    break
                if time.monotonic() - started > self.timeout_s:
                    raise ScanProblem("timeout", f"still scanning after {self.timeout_s:.0f}s")
                await asyncio.sleep(self.poll_s)
            outcome = ScanCompleted(
                target=ScanTarget.NAVIDROME,
                duration_ms=round((time.monotonic() - started) * 1000),
            )
        except ScanProblem as exc:
            log.warning("Navidrome scan failed: %s", exc)
            outcome = ScanFailed(target=ScanTarget.NAVIDROME, reason=exc.reason, detail=exc.detail[:500])
        await self._publish(outcome)
        self.last_outcome = outcome
        return outcome
