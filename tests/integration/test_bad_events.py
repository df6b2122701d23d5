"""Bad events on every subject of the catalog, against the real services of `brainstream up`.

Missing fields, wrong types, a body written by an unknown newer version, and garbage bytes: each one that the
subject's contract cannot read lands in dead letters as `undecodable`, once per consumer that received it, with a
detail naming what was wrong; every consumer acks it and goes on, so valid events published afterwards are still
delivered, and no service crashes. A newer body the contract can still read (unknown fields are ignored by design)
is not dead-lettered as undecodable. An unknown version on its own subject (`<subject>.v9`) reaches no consumer at
all; it is listed by `brainstream status` as a subject nobody reads.

The assertions hold whatever the handlers do with valid events, so the suite stays valid as the services grow.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NatsClient
from pydantic import ValidationError

from contracts.base import Message
from contracts.catalog import MESSAGE_TYPES
from contracts.deadletter import DeadLetterReason
from contracts.topology import CONSUMERS
from infra.ops.deadletters import list_letters
from infra.ops.unconsumed import unconsumed_subjects

from ..support.samples import required_fields, sample
from ..support.stack import STACK_LOGIN, free_port, health, stack_env, stack_nats_url
from ..support.wait import wait_until

GARBAGE = b"\x00\xff\xfe not json at all"


def _health(port: int) -> dict[str, Any] | None:
    """As the stack's administrator sees it: with pids and consumers."""
    return health(port, admin=STACK_LOGIN)


def _variants(cls: type[Message]) -> list[tuple[str, bytes]]:
    body: dict[str, Any] = json.loads(sample(cls).to_json())
    required = required_fields(cls)
    out = [("garbage", GARBAGE)]
    if required:
        out.append(("missing_field", json.dumps({k: v for k, v in body.items() if k != required[0]}).encode()))
    out.append(("wrong_types", json.dumps(body | {"occurred_at": "not a date", "event_id": ["x"]}).encode()))
    # a newer writer that wraps the v1 body in an envelope this reader does not know
    out.append(("unknown_version", json.dumps({"schema_version": 9, "message": body}).encode()))
    return out


def _readable(cls: type[Message], payload: bytes) -> bool:
    try:
        cls.model_validate_json(payload)
    except ValidationError:
        return False
    return True


def _consumers_of(subject: str, bound: set[str] | None = None) -> list[str]:
    """Declared consumers of `subject`; with `bound`, only those a running process is bound to."""
    return [c.durable for c in CONSUMERS if subject in c.filter_subjects and (bound is None or c.durable in bound)]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    env = stack_env(str(tmp_path / "data"), port)
    log = (tmp_path / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "up"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path
    )
    try:
        yield port, tmp_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


@pytest.fixture
async def stack_nc(stack: tuple[int, Path]) -> AsyncIterator[tuple[NatsClient, int]]:
    port, root = stack
    await wait_until(lambda: _health(port), timeout=90, predicate=lambda h: bool(h) and h["status"] == "ok")
    url = stack_nats_url(root / "data")
    assert url is not None
    nc = await nats.connect(url, name="bad-events")
    try:
        yield nc, port
    finally:
        await nc.close()


async def test_bad_events_on_every_subject_are_dead_lettered_and_every_consumer_goes_on(
    stack_nc: tuple[NatsClient, int],
) -> None:
    nc, port = stack_nc
    js = nc.jetstream()
    before = _health(port)
    assert before is not None
    pids = {name: s["pid"] for name, s in before["services"].items()}
    # a consumer no process binds yet (a service still being built) cannot dead-letter anything: only the bound
    # ones are held to it, so the suite covers each consumer from the day its service binds it
    bound = {durable for s in before["services"].values() for durable in s.get("consumers", [])}
    assert bound, "no service binds any consumer"

    undecodable: list[tuple[type[Message], str, bytes]] = []
    readable: list[tuple[type[Message], str, bytes]] = []
    for cls in MESSAGE_TYPES:
        assert _consumers_of(cls.subject), f"{cls.subject} has no consumer: nobody would notice its bad events"
        for name, payload in _variants(cls):
            (readable if _readable(cls, payload) else undecodable).append((cls, name, payload))
    assert {name for _, name, _ in undecodable} == {"garbage", "missing_field", "wrong_types", "unknown_version"}

    # every unreadable message first, so each consumer's ack floor must pass all of them
    expected: dict[tuple[str, int], tuple[str, str]] = {}
    last_bad: dict[str, int] = {}
    for cls, name, payload in undecodable:
        ack = await js.publish(cls.subject, payload)
        for durable in _consumers_of(cls.subject, bound):
            expected[(durable, ack.seq)] = (cls.subject, name)
            last_bad[durable] = max(last_bad.get(durable, 0), ack.seq)
    # then what can be read: bodies of a newer version that still decode, and one valid event per subject
    delivered_by: dict[str, int] = {}
    for cls, _, payload in readable:
        await js.publish(cls.subject, payload)
    for cls in MESSAGE_TYPES:
        event = sample(cls)
        ack = await js.publish(cls.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})
        for durable in _consumers_of(cls.subject, bound):
            delivered_by[durable] = max(delivered_by.get(durable, 0), ack.seq)

    async def letters() -> dict[tuple[str, int], Any]:
        got = {}
        for letter in await list_letters(js):
            if letter.info and letter.info.reason is DeadLetterReason.UNDECODABLE:
                got[(letter.info.consumer, letter.info.sequence)] = letter.info
        return got

    got = await wait_until(letters, timeout=60, interval=0.5, predicate=lambda g: set(expected) <= set(g))
    for key, (subject, variant) in expected.items():
        info = got[key]
        assert info.subject == subject, (key, variant)
        assert info.deliveries == 1, (key, variant)  # no pointless retries of what cannot be read
        assert info.detail, (key, variant)
    missing = [got[k].detail for k, (_, v) in expected.items() if v == "missing_field"]
    assert all("Field required" in d for d in missing), missing[:3]
    assert not {k for k in got if k not in expected}  # nothing readable was dead-lettered as undecodable

    stream_of = {c.durable: c.stream for c in CONSUMERS}

    async def caught_up() -> list[str]:
        behind = []
        for durable, seq in delivered_by.items():
            info = await js.consumer_info(stream_of[durable], durable)
            if info.delivered.stream_seq < seq or info.ack_floor.stream_seq < last_bad.get(durable, 0):
                behind.append(f"{durable}: delivered {info.delivered.stream_seq}/{seq}, "
                              f"ack floor {info.ack_floor.stream_seq}/{last_bad.get(durable, 0)}")  # fmt: skip
        return behind

    await wait_until(caught_up, timeout=60, interval=0.5, predicate=lambda behind: behind == [])

    # an unknown version on its own subject (`.v9`) reaches no consumer, so it cannot be dead-lettered: it must be
    # listed by `brainstream status` instead of sitting unseen
    for cls in MESSAGE_TYPES:
        await js.publish(f"{cls.subject}.v9", sample(cls).to_json())
    unconsumed = await unconsumed_subjects(js)
    assert unconsumed == {f"{cls.subject}.v9": 1 for cls in MESSAGE_TYPES}
    after = await wait_until(lambda: _health(port), timeout=10)
    assert {name: s.get("pid") for name, s in after["services"].items()} == pids  # nothing crashed or restarted
