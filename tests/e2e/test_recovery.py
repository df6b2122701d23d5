"""Recovery at default settings: a SIGKILLed service's held work is done again within 15 s of the kill.

Unlike the chaos suite, nothing is compressed: every consumer keeps the `ack_wait` of the contracts. Each service is
caught holding a delivered message (see `tests/support/recovery.py` for how), killed, and the time until that
message was handled and acked by the restarted process is printed; `tests/bench/bench_recovery.py` records figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import nats
import pytest
from nats.js import JetStreamContext

from ..support.loopstack import LoopStack, loop_stack
from ..support.loopworld import LoopWorld
from ..support.recovery import TARGETS, RecoveryDriver
from ..support.stack import health
from ..support.wait import wait_until

PROMISE_S = 15.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopStack]:
    # no account: nothing runs on its own, so each piece of work is the test's
    with loop_stack(tmp_path_factory.mktemp("recovery"), LoopWorld(24), env_accounts=False) as s:
        yield s


@pytest.fixture(scope="module")
async def js(stack: LoopStack) -> AsyncIterator[JetStreamContext]:
    url = await wait_until(stack.nats_url, timeout=60, interval=0.1)
    nc = await nats.connect(url, name="recovery-tests")
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def test_each_killed_services_held_work_is_done_within_15s(stack: LoopStack, js: JetStreamContext) -> None:
    await wait_until(
        lambda: health(stack.port), timeout=120, interval=0.5, predicate=lambda h: bool(h) and h["status"] == "ok"
    )
    times = await RecoveryDriver(stack, js).round()
    print("\nheld work done again after SIGKILL: " + ", ".join(f"{s} {t:.1f}s" for s, t in times.items()))
    assert set(times) == set(TARGETS)
    late = {s: round(t, 1) for s, t in times.items() if t > PROMISE_S}
    assert late == {}, f"past the {PROMISE_S:.0f}s promise: {late}\n{stack.log_tail(30)}"
