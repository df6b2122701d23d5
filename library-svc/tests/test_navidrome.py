"""Navidrome scan trigger against a loopback fake that answers like Navidrome (Subsonic JSON, salted token auth)."""

from __future__ import annotations

import asyncio
import hashlib
import time

from library_fakes import RecordingPublisher

from contracts.library import ScanCompleted, ScanFailed, ScanTarget
from infra.http import ApiClient, HttpSettings
from library_svc.adapters.navidrome import NavidromeScanTrigger
from tests.support.fakeweb import FakeWeb, Reply
from tests.support.wait import wait_until


def ok(**payload: object) -> dict[str, object]:
    return {"subsonic-response": {"status": "ok", "version": "1.16.1", "type": "navidrome", **payload}}


def trigger(web: FakeWeb, publish: RecordingPublisher, *, debounce_s: float = 0.0, timeout_s: float = 5.0):
    client = ApiClient("navidrome", web.base_url, HttpSettings(BRAINSTREAM_HTTP_RETRIES=0))
    return NavidromeScanTrigger(
        client, "admin", "s3cret", publish, debounce_s=debounce_s, timeout_s=timeout_s, poll_s=0.01
    )


async def test_scan_started_polled_and_completed(fake_web: FakeWeb) -> None:
    fake_web.json("GET", "/rest/startScan", ok(scanStatus={"scanning": True, "count": 0}))
    fake_web.sequence(
        "GET",
        "/rest/getScanStatus",
        [
            Reply(json=ok(scanStatus={"scanning": True, "count": 5})),
            Reply(json=ok(scanStatus={"scanning": False, "count": 9})),
        ],
    )
    publish = RecordingPublisher()
    outcome = await trigger(fake_web, publish).scan_once()
    assert isinstance(outcome, ScanCompleted) and outcome.target is ScanTarget.NAVIDROME
    assert publish.events == [outcome]
    start = fake_web.requests_for("GET", "/rest/startScan")[0]
    q = {k: v[0] for k, v in start.query.items()} if isinstance(start.query, dict) else dict(start.query)
    assert q["u"] == "admin" and "p" not in q  # the password never travels, only a salted token
    assert q["t"] == hashlib.md5(("s3cret" + q["s"]).encode()).hexdigest()
    assert fake_web.count("GET", "/rest/getScanStatus") == 2


async def test_auth_failure_timeout_and_unreachable_are_published(fake_web: FakeWeb) -> None:
    publish = RecordingPublisher()
    fake_web.json("GET", "/rest/startScan", {"subsonic-response": {"status": "failed", "error": {"code": 40}}})
    failed = await trigger(fake_web, publish).scan_once()
    assert isinstance(failed, ScanFailed) and failed.reason == "auth_failed"

    fake_web.json("GET", "/rest/startScan", ok(scanStatus={"scanning": True}))
    fake_web.json("GET", "/rest/getScanStatus", ok(scanStatus={"scanning": True, "count": 1}))
    slow = await trigger(fake_web, publish, timeout_s=0.05).scan_once()
    assert isinstance(slow, ScanFailed) and slow.reason == "timeout"

    fake_web.reply("GET", "/rest/startScan", Reply(503))
    down = await trigger(fake_web, publish).scan_once()
    assert isinstance(down, ScanFailed) and down.reason == "unreachable"


async def test_debounce_scans_once_after_imports_settle(fake_web: FakeWeb) -> None:
    fake_web.json("GET", "/rest/startScan", ok(scanStatus={"scanning": False}))
    fake_web.json("GET", "/rest/getScanStatus", ok(scanStatus={"scanning": False, "count": 3}))
    publish = RecordingPublisher()
    nav = trigger(fake_web, publish, debounce_s=0.5)
    task = asyncio.create_task(nav.run())
    try:
        for _ in range(5):  # a burst of imports
            nav.poke()
            await asyncio.sleep(0)
        last_poke = time.monotonic()
        await wait_until(lambda: publish.of(ScanCompleted), timeout=10)
        [start] = fake_web.requests_for("GET", "/rest/startScan")  # one scan for the whole burst
        assert start.at >= last_poke + 0.5 - 0.05  # and only once the imports had settled
    finally:
        task.cancel()
