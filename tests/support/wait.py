"""Bounded waiting on a condition: never `sleep(5)` and hope."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Any | Awaitable[Any]],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    predicate: Callable[[Any], bool] = bool,
) -> Any:
    """Call `probe` until `predicate(result)` holds and return that result; fail with the last value on timeout."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        result = probe()
        last = await result if inspect.isawaitable(result) else result
        if predicate(last):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")
        await asyncio.sleep(interval)
