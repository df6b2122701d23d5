"""Password guessing under concurrency: at most the configured guesses a minute get any answer but "slow down",
per address and per account, through /api/login and every /rest method; argon2 checks are capped."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.auth.limiter import Busy, PasswordSlots

from .gateway_fakes import FakeSubsonic

PER_ADDRESS, PER_ACCOUNT = 6, 4


async def _limited_gateway(factory: Callable[..., Any], library: FakeSubsonic, **extra: Any) -> Any:
    return await factory(
        BRAINSTREAM_LIBRARY_API_URL=library.base_url,
        BRAINSTREAM_AUTH_GUESSES_PER_MINUTE=PER_ADDRESS,
        BRAINSTREAM_AUTH_ACCOUNT_GUESSES_PER_MINUTE=PER_ACCOUNT,
        **extra,
    )


def _answered(responses: list[httpx.Response]) -> list[httpx.Response]:
    """The answers that are not "slow down"; each of those checked a guess."""
    slowed = [r for r in responses if r.status_code == 429]
    assert all(int(r.headers["retry-after"]) >= 1 for r in slowed)
    return [r for r in responses if r.status_code != 429]


async def test_concurrent_wrong_logins_get_at_most_the_limit_answered(
    gateway_factory: Callable[..., Any], fake_library: FakeSubsonic
) -> None:
    gw = await _limited_gateway(gateway_factory, fake_library)
    async with httpx.AsyncClient(base_url=gw.url, timeout=60) as c:
        # one account, 24 guesses at once: the account's limit holds even though all arrive together
        burst = await asyncio.gather(
            *(c.post("/api/login", json={"username": "admin", "password": f"guess-{i}"}) for i in range(24))
        )
        answered = _answered(list(burst))
        assert len(answered) == PER_ACCOUNT and all(r.status_code == 401 for r in answered)
        # the right password now is slowed down too: an attacker learns nothing from a different answer
        right = await c.post("/api/login", json={"username": "admin", "password": "admin-password-1"})
        assert right.status_code == 429 and "slow down" in right.json()["detail"]
        # other accounts from the same address: only the address's remaining guesses are answered
        spread = await asyncio.gather(
            *(c.post("/api/login", json={"username": f"user{i}", "password": "guess-guess"}) for i in range(12))
        )
        assert len(_answered(list(spread))) == PER_ADDRESS - PER_ACCOUNT


async def test_every_rest_method_shares_the_limit_with_the_web_login(
    gateway_factory: Callable[..., Any], fake_library: FakeSubsonic
) -> None:
    gw = await _limited_gateway(gateway_factory, fake_library)
    salt = "c0ffee"
    token = hashlib.md5(b"wrong" + salt.encode()).hexdigest()
    methods = [
        {"u": "admin", "p": "wrong-password"},
        {"u": "admin", "p": "enc:" + b"wrong".hex()},
        {"u": "admin", "t": token, "s": salt},
        {"apiKey": "not-a-key"},
    ]
    async with httpx.AsyncClient(base_url=gw.url, timeout=60) as c:
        burst = await asyncio.gather(
            *(c.get("/rest/ping", params={**methods[i % 4], "f": "json"}) for i in range(40)),
            *(c.post("/api/login", json={"username": "admin", "password": f"g{i}"}) for i in range(8)),
        )
        answered = _answered(list(burst))
        assert len(answered) == PER_ADDRESS
        rest = [r for r in burst if r.url.path.startswith("/rest") and r.status_code == 429]
        assert rest and all(r.json()["subsonic-response"]["error"]["code"] == 0 for r in rest)
        # the app-password itself is refused while the address is spent, and the API key with it
        good = {"u": "admin", "p": gw.app_password(), "f": "json"}
        assert (await c.get("/rest/ping", params=good)).status_code == 429


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    gateway_factory: Callable[..., Any], fake_library: FakeSubsonic
) -> None:
    async def spread_guesses(gw: Any) -> int:
        async with httpx.AsyncClient(base_url=gw.url, timeout=60) as c:
            burst = await asyncio.gather(
                *(
                    c.post(
                        "/api/login",
                        json={"username": f"user{i}", "password": "guess-guess"},
                        headers={"X-Forwarded-For": f"127.0.1.{i}"},
                    )
                    for i in range(20)
                )
            )
        return len(_answered(list(burst)))

    direct = await _limited_gateway(gateway_factory, fake_library)
    assert await spread_guesses(direct) == PER_ADDRESS  # a forged header does not make 20 addresses
    proxied = await _limited_gateway(gateway_factory, fake_library, BRAINSTREAM_TRUSTED_PROXIES="127.0.0.1")
    assert await spread_guesses(proxied) == 20  # behind a trusted proxy each client is its own address


async def test_password_checks_run_at_most_the_configured_number_at_once() -> None:
    slots = PasswordSlots(slots=2, queue=20)
    running, peak = 0, 0
    lock = threading.Lock()

    def check() -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)  # stands in for argon2's work in the worker thread
        with lock:
            running -= 1
        return True

    assert all(await asyncio.gather(*(slots.run(check) for _ in range(16))))
    assert peak == 2
    crowd = [asyncio.ensure_future(slots.run(check)) for _ in range(30)]
    results = await asyncio.gather(*crowd, return_exceptions=True)
    busy = [r for r in results if isinstance(r, Busy)]
    assert len(busy) == 30 - 2 - 20 and peak == 2  # beyond two running and 20 queued: "busy", not one more thread


@pytest.mark.parametrize("concurrent", [48])
async def test_concurrent_logins_wait_for_a_slot_and_all_succeed(
    gateway_factory: Callable[..., Any], fake_library: FakeSubsonic, concurrent: int
) -> None:
    # limits high enough for the burst: this is about the argon2 queue, which makes them wait instead of failing
    gw = await gateway_factory(
        BRAINSTREAM_LIBRARY_API_URL=fake_library.base_url,
        BRAINSTREAM_PASSWORD_CHECKS=2,
        BRAINSTREAM_AUTH_GUESSES_PER_MINUTE=1000,
        BRAINSTREAM_AUTH_ACCOUNT_GUESSES_PER_MINUTE=1000,
    )
    async with httpx.AsyncClient(base_url=gw.url, timeout=120) as c:
        burst = await asyncio.gather(
            *(
                c.post("/api/login", json={"username": "admin", "password": "admin-password-1"})
                for _ in range(concurrent)
            )
        )
    assert [r.status_code for r in burst] == [201] * concurrent
