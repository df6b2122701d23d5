"""Slow down an address that keeps failing to authenticate (web login and /rest alike)."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["FailureThrottle"]


class FailureThrottle:
    """Counts failures per address in a sliding window; past `free` failures each answer waits longer.

    The delay doubles from `base_s` per failure beyond the free ones, up to `max_delay_s`. A success does not reset
    the count: an attacker who guesses one account must not clear the slate for the next guess.
    """

    def __init__(
        self,
        free: int = 5,
        window_s: float = 300.0,
        max_delay_s: float = 5.0,
        base_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.window_s, self.max_delay_s, self.base_s = free, window_s, max_delay_s, base_s
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, address: str) -> list[float]:
        now = self._clock()
        kept = [t for t in self._failures.get(address, []) if now - t < self.window_s]
        if kept:
            self._failures[address] = kept
        else:
            self._failures.pop(address, None)
        return kept

    def delay(self, address: str) -> float:
        """How long to hold the next answer to this address."""
        excess = len(self._recent(address)) - self.free
        if excess < 0:
            return 0.0
        return float(min(self.max_delay_s, self.base_s * 2**excess))

    def failed(self, address: str) -> None:
        self._recent(address)
        self._failures.setdefault(address, []).append(self._clock())
        if len(self._failures) > 10_000:  # bounded memory under a spray of addresses: drop the oldest
            oldest = min(self._failures, key=lambda a: self._failures[a][-1])
            del self._failures[oldest]
