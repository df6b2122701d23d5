"""`brainstream replay <projection>`: rebuild a read model by folding its streams again.

A service that keeps a read model offers it under the `brainstream.projections` entry-point group (in its own
pyproject), so this command finds it without importing any service package by name. What a projection offers is a
`ReplayableProjection`: the streams it folds, where its live store is, and a `Fold` that applies batches of stored
messages to a store, writing its stream positions in the same transaction as its rows.

The run:
- from the start (the default), the fold goes into a fresh store; `--into PATH` names it, otherwise a scratch file
  beside the live store is built and its tables are then copied into the live store in one transaction, so the live
  store holds the old model or the new one, never half of each;
- from a sequence or a time, the fold goes on top of the target store as it is (a catch-up), and what the store has
  applied already (its positions) is skipped;
- whatever the target, the positions the store has recorded are skipped, so a run that stopped can simply run again.

Projections that fold several streams in the order events happened (`by_time`) are read whole, merged by
`occurred_at`, then folded; the others are folded batch by batch while the stream is still being read, in a
process of their own (`replay_child`), so reading and folding use both cores.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .projections import Decoded, Fold, ReplayableProjection, Source
from .replay_child import ChildFold, DecodesWhileReading, ReplayFailed
from .scan import Stored, scan_batches

if TYPE_CHECKING:  # nats is imported when streams are read: the fold process needs `Decoded` and `Source` alone
    from nats.js import JetStreamContext

__all__ = [
    "ChildFold",
    "DecodesWhileReading",
    "ReplayFailed",
    "ReplayOptions",
    "ReplayResult",
    "StreamRun",
    "parse_from_seq",
    "parse_since",
    "replay",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`2h`, `30m`, `1d` (that long ago) or an ISO 8601 time (UTC when it names no zone)."""
    match = _DURATION.match(text)
    if match:
        return (now or datetime.now(UTC)) - timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give an ISO time (2026-11-21T08:00:00Z) or an age (90s, 30m, 2h, 1d)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def parse_from_seq(values: Sequence[str], streams: Sequence[str]) -> dict[str, int]:
    """`N` (every stream from its sequence N) or `STREAM:N`, repeatable; streams not named start at 1."""
    out: dict[str, int] = {}
    for value in values:
        stream, _, number = value.rpartition(":")
        try:
            seq = int(number)
        except ValueError:
            raise ValueError(f"--from-seq {value!r}: give N or STREAM:N") from None
        if seq < 1:
            raise ValueError(f"--from-seq {value!r}: sequences start at 1")
        if not stream:
            out.update(dict.fromkeys(streams, seq))
        elif stream.upper() in streams:
            out[stream.upper()] = seq
        else:
            raise ValueError(f"--from-seq {value!r}: this projection reads {', '.join(streams)}")
    return out


@dataclass(frozen=True)
class ReplayOptions:
    from_seq: dict[str, int] = field(default_factory=dict)
    since: datetime | None = None
    batch: int = 2000

    @property
    def from_start(self) -> bool:
        return not self.from_seq and self.since is None


# the run ----------------------------------------------------------------------------------------------------------


@dataclass
class StreamRun:
    stream: str
    first_seq: int = 0
    last_seq: int = 0
    read: int = 0
    applied: int = 0


@dataclass
class ReplayResult:
    projection: str
    store: str
    streams: list[StreamRun]
    counts: dict[str, int]
    seconds: float
    installed_into: str | None = None

    @property
    def read(self) -> int:
        return sum(s.read for s in self.streams)

    @property
    def applied(self) -> int:
        return sum(s.applied for s in self.streams)

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "store": self.store,
            "installed_into": self.installed_into,
            "streams": [vars(s) for s in self.streams],
            "read": self.read,
            "applied": self.applied,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.rate, 1),
        }


class Progress(Protocol):
    """What the run reports while it goes (the CLI draws it with rich)."""

    def phase(self, label: str, total: int) -> None:
        """A new bar: reading (and folding as it goes), or folding what was read."""
        ...

    def total(self, events: int) -> None:
        """The current bar's total, once it is known better."""
        ...

    def advance(self, events: int) -> None: ...


class _Quiet:
    def total(self, events: int) -> None:
        return None

    def advance(self, events: int) -> None:
        return None

    def phase(self, label: str, total: int) -> None:
        return None


async def replay(
    js: JetStreamContext,
    projection: ReplayableProjection,
    store: Path,
    opts: ReplayOptions,
    progress: Progress | None = None,
) -> ReplayResult:
    """Fold the projection's streams into `store` (fresh when replaying from the start)."""
    shown = progress or _Quiet()
    began = time.perf_counter()
    if projection.by_time:
        fold = await asyncio.to_thread(projection.open, store, fresh=opts.from_start)
        try:
            done = await asyncio.to_thread(fold.positions)
            runs, estimates = await _plan(js, projection, opts, done)
            shown.phase("reading", sum(estimates.values()))
            await _fold_merged(js, projection, fold, opts, runs, done, shown)
            counts = await asyncio.to_thread(fold.counts)
        finally:
            await asyncio.to_thread(fold.close)
    else:
        child = await asyncio.to_thread(ChildFold, projection, store, opts.from_start)
        try:
            # a store folded from the start is emptied first: nothing to ask, so reading starts while the child boots
            done = {} if opts.from_start else await asyncio.to_thread(child.call, "positions")
            runs, estimates = await _plan(js, projection, opts, done)
            shown.phase("replaying", sum(estimates.values()))
            await _fold_streaming(js, projection, child, opts, runs, done, shown, estimates)
            counts = await asyncio.to_thread(child.call, "counts")
        finally:
            await asyncio.to_thread(child.close)
    return ReplayResult(projection.name, str(store), list(runs.values()), counts, time.perf_counter() - began)


async def _plan(
    js: JetStreamContext, projection: ReplayableProjection, opts: ReplayOptions, done: dict[str, int]
) -> tuple[dict[str, StreamRun], dict[str, int]]:
    """Where each stream starts, and how many messages that leaves (the bar's total, refined as reading starts)."""
    from nats.js.errors import NotFoundError

    runs: dict[str, StreamRun] = {}
    estimates: dict[str, int] = {}
    for source in projection.sources:
        run = runs[source.stream] = StreamRun(source.stream)
        try:
            info = await js.stream_info(source.stream)
        except NotFoundError:
            continue  # not provisioned yet: nothing to fold
        start = max(opts.from_seq.get(source.stream, 1), done.get(source.stream, 0) + 1, info.state.first_seq)
        run.first_seq = start
        estimates[source.stream] = max(0, info.state.last_seq - start + 1) if info.state.messages else 0
    return runs, estimates


async def _read(js: JetStreamContext, source: Source, run: StreamRun, opts: ReplayOptions) -> Any:
    """The source's messages from where the run starts, in the batches they arrive in, counted into `run`."""
    from nats.js.errors import NotFoundError

    if not run.first_seq:
        return
    since = opts.since
    floor_ns = None if since is None else (since - _EPOCH) // timedelta(microseconds=1) * 1000
    start = run.first_seq
    try:
        batches = scan_batches(
            js, source.stream, subject=source.subject, start_seq=start, start_time=since if start == 1 else None
        )
        async with contextlib.aclosing(batches) as stored_batches:
            async for batch in stored_batches:
                if floor_ns is not None:  # a start sequence (the store's position) won over the time: keep to it
                    batch = [s for s in batch if s.stored_ns is None or s.stored_ns >= floor_ns]
                if batch:
                    run.read += len(batch)
                    run.last_seq = batch[-1].seq
                    yield batch
    except NotFoundError:
        return


async def _fold_streaming(
    js: JetStreamContext,
    projection: ReplayableProjection,
    child: ChildFold,
    opts: ReplayOptions,
    runs: dict[str, StreamRun],
    done: dict[str, int],
    shown: Progress,
    estimates: dict[str, int],
) -> None:
    """Fold each stream while it is read: the child folds one batch while the next is read."""
    total = sum(estimates.values())
    for source in projection.sources:
        run = runs[source.stream]
        floor = done.get(source.stream, 0)
        batch: list[Stored] = []
        first = True

        sizes: collections.deque[int] = collections.deque()  # of the batches in flight: the bar counts folded ones

        async def settle_one(run: StreamRun = run, sizes: collections.deque[int] = sizes) -> None:
            run.applied += await asyncio.to_thread(child.wait_one)
            shown.advance(sizes.popleft())

        async def hand_over(items: list[Stored], floor: int = floor, sizes: collections.deque[int] = sizes) -> None:
            while child.in_flight >= child.AHEAD:
                await settle_one()
            child.send(items, floor)
            sizes.append(len(items))

        async with contextlib.aclosing(_read(js, source, run, opts)) as arriving:
            async for arrived in arriving:
                if first:  # the server knows exactly how many are left: correct the estimate
                    first = False
                    total += arrived[0].pending + 1 - estimates.get(source.stream, 0)
                    shown.total(total)
                batch += arrived
                while len(batch) >= opts.batch:
                    await hand_over(batch[: opts.batch])
                    batch = batch[opts.batch :]
        if first:
            total -= estimates.get(source.stream, 0)  # nothing came (all removed, or a time past the end)
            shown.total(total)
        if batch:
            await hand_over(batch)
        while child.in_flight:
            await settle_one()


async def _fold_merged(
    js: JetStreamContext,
    projection: ReplayableProjection,
    fold: Fold,
    opts: ReplayOptions,
    runs: dict[str, StreamRun],
    done: dict[str, int],
    shown: Progress,
) -> None:
    """Read every stream, merge by when the events happened (then stream sequence), fold in batches."""
    decoded: list[Decoded] = []
    order = {s.stream: i for i, s in enumerate(projection.sources)}
    for source in projection.sources:
        run = runs[source.stream]
        floor = done.get(source.stream, 0)
        async with contextlib.aclosing(_read(js, source, run, opts)) as arriving:
            async for chunk in arriving:
                decoded.extend(d for d in map(fold.decode, chunk) if d is not None and d.seq > floor)
                shown.advance(len(chunk))
    shown.total(sum(r.read for r in runs.values()))  # the estimate counted from the stream ends; now it is known
    decoded.sort(key=lambda d: (d.at, order[d.stream], d.seq))
    shown.phase("folding", len(decoded))
    for i in range(0, len(decoded), opts.batch):
        part = decoded[i : i + opts.batch]
        await asyncio.to_thread(fold.apply, part)
        for d in part:
            runs[d.stream].applied += 1
        shown.advance(len(part))
