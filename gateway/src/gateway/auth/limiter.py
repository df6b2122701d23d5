"""Limits on password guessing (web login and every /rest method alike) and on concurrent argon2 checks.

A guess is counted *before* the secret is checked, so a burst of concurrent guesses cannot all slip through while
the first ones are still being verified: at most `per_address` guesses from one address and `per_account` guesses
at one account are answered in any `window_s`; the rest get "slow down" (HTTP 429 with Retry-After) without their
secret being looked at. A guess that turns out right is taken back (a person who logs in is not slowed down by it),
but it does not clear the wrong ones before it: an attacker who knows one account must not clear the slate for the
next guess.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Busy", "Guess", "GuessLimiter", "PasswordSlots", "retry_after"]

T = TypeVar("T")
_MAX_KEYS = 50_000
"""Addresses and accounts tracked at once; past that the least recently seen are forgotten (bounded memory)."""


class Guess:
    """One counted guess; `took_back()` once it proved right (or was not a guess at a secret after all)."""

    def __init__(self, limiter: GuessLimiter, keys: list[str], at: float) -> None:
        self._limiter, self._keys, self._at = limiter, keys, at

    def took_back(self) -> None:
        for key in self._keys:
            self._limiter._remove(key, self._at)
        self._keys = []


class GuessLimiter:
    def __init__(
        self,
        per_address: int,
        per_account: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address, self.per_account, self.window_s = per_address, per_account, window_s
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.pop(key, None) or deque()
        while times and now - times[0] >= self.window_s:
            times.popleft()
        self._seen[key] = times  # re-inserted: the dict's order is least recently seen first
        return times

    def _remove(self, key: str, at: float) -> None:
        times = self._seen.get(key)
        if times is not None:
            try:
                times.remove(at)
            except ValueError:
                return  # already out of the window

    def try_guess(self, address: str, account: str | None) -> Guess | float:
        """A counted guess, or the seconds until one would be answered ("slow down").

        Synchronous on purpose: nothing can run between the count and the check of the limit."""
        now = self._clock()
        limits = [(f"a:{address}", self.per_address)]
        if account:
            limits.append((f"u:{account.casefold()}", self.per_account))
        wait = 0.0
        for key, limit in limits:
            times = self._recent(key, now)
            if len(times) >= limit:
                wait = max(wait, times[-limit] + self.window_s - now)
        while len(self._seen) > _MAX_KEYS:
            del self._seen[next(iter(self._seen))]
        if wait > 0:
            return wait
        for key, _ in limits:
            self._seen[key].append(now)
        return Guess(self, [key for key, _ in limits], now)


class Busy(Exception):
    """Too many password checks are already waiting: answer 503 and let the client come back."""


class PasswordSlots:
    """At most `slots` argon2 hashes or verifications at once (each takes 64 MiB), the others queued on the loop.

    Waiting happens here, not in worker threads, so a login burst cannot take every thread of the default pool."""

    def __init__(self, slots: int = 2, queue: int = 64) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._queue, self._waiting = queue, 0

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self._waiting >= self._queue:
            raise Busy("too many password checks at once; try again in a moment")
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        # the slot is free when the thread is, even if the asker went away meanwhile
        work.add_done_callback(lambda _: self._slots.release())
        return await asyncio.shield(work)


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
