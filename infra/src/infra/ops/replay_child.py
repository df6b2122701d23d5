"""The fold of a streaming projection in a process of its own: `python -m infra.ops.replay_child <fd>`.

`replay()` reads and decodes the stream here while the child writes batches there, so the two use both cores;
each side is bound by one core of Python.
"""

from __future__ import annotations

import gc
import queue
import socket
import subprocess
import sys
import threading
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .projections import Decoded, ReplayableProjection
    from .scan import Stored

__all__ = ["ChildFold", "DecodesWhileReading", "ReplayFailed"]


@runtime_checkable
class DecodesWhileReading(Protocol):
    """A projection that decodes stored messages itself, without a store: `replay()` then decodes where it reads
    the stream and hands the fold process decoded batches, so the two cores share the Python work. Its `decode`
    must give what its folds' `decode` gives (the fold process applies them the same way)."""

    def decode(self, stored: Stored) -> Decoded | None:
        """Parse one stored message; None when the projection has no use for it."""
        ...


class ReplayFailed(RuntimeError):
    """The fold failed in its process; the message carries its traceback."""


class ChildFold:
    """The fold in a process of its own, so reading the stream (here) and folding (there) use two cores.

    Batches go over a socket; the child applies them and answers how many it applied. A projection that decodes
    without its store (`DecodesWhileReading`) is decoded here, by a thread of ours, and the child only writes:
    decoding and writing are the two halves (100k catalog events on 2 cores, measured when the stream was read by
    a hand-written client that cost 0.3 s of CPU: all decoded here about 22k events/s; every fourth batch there
    about the same; every third 21k; half 20k; choosing by the child's backlog 20-21k. nats-py's ordered consumer
    costs this process about 2 s more per 100k events: docs/benchmarks/clients.md). Other projections' batches
    are decoded there. At most AHEAD batches are in flight: enough to go on reading and decoding while the child
    starts (about a second of imports).
    """

    AHEAD = 16

    def __init__(self, projection: ReplayableProjection, store: Path, fresh: bool) -> None:
        # a plain `python -m` child rather than multiprocessing's spawn, which would re-import the caller's
        # __main__ (a script, a test runner); fork is out too, as this process runs an event loop and threads
        ours, theirs = socket.socketpair()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "infra.ops.replay_child", str(theirs.fileno())], pass_fds=[theirs.fileno()]
        )
        theirs.close()
        self._conn = Connection(ours.detach())
        self.in_flight = 0
        self._failed = False
        self._decode = projection.decode if isinstance(projection, DecodesWhileReading) else None
        # Two threads: one decodes, one sends. A send blocks while the socket is full, which it is until the fold
        # process has started (a second of imports) and whenever it is the slower side; decoding in the sending
        # thread had stopped with it, in lockstep with the fold process's writing.
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._wire: queue.Queue[Any] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._decode_all, name="replay-decoder", daemon=True),
            threading.Thread(target=self._send_all, name="replay-sender", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._outbox.put((projection, store, fresh))

    def _decode_all(self) -> None:
        while (item := self._outbox.get()) is not None:
            try:
                if item[0] == "fold" and self._decode is not None:  # decoded here, applied there
                    batch, floor = item[1]
                    item = ("apply", [d for d in map(self._decode, batch) if d is not None and d.seq > floor])
            except Exception:  # noqa: BLE001 - a message that does not decode: the child reports it, in order
                item = ("raise", traceback.format_exc())
            self._wire.put(item)
        self._wire.put(None)

    def _send_all(self) -> None:
        while (item := self._wire.get()) is not None:
            try:
                self._conn.send(item)
            except OSError:
                return  # the child is gone; the next receive says how

    def _recv(self) -> Any:
        try:
            tag, value = self._conn.recv()
        except (EOFError, OSError):
            self._failed = True
            raise ReplayFailed(f"the fold process ended (exit code {self._proc.wait(timeout=30)})") from None
        if tag == "error":
            self._failed = True  # the child has stopped: nothing more will be answered
            raise ReplayFailed(value)
        return value

    def call(self, op: str, *args: Any) -> Any:
        self._outbox.put((op, args))
        return self._recv()

    def send(self, batch: list[Stored], floor: int) -> None:
        self._outbox.put(("fold", (batch, floor)))
        self.in_flight += 1

    def wait_one(self) -> int:
        applied: int = self._recv()
        self.in_flight -= 1
        return applied

    def close(self) -> None:
        try:
            if self._proc.poll() is None and not self._failed:
                while self.in_flight:
                    self.wait_one()
                self.call("close")
        finally:
            self._outbox.put(None)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            for thread in self._threads:
                thread.join(timeout=30)
            self._conn.close()


COALESCE = 8000
"""Events the fold process applies in one transaction at most, when batches queue up for it."""


def _serve_fold(conn: Connection) -> None:
    """The child's loop: open the store, then answer `positions`, `fold`, `counts` and `close` in order.

    Any failure goes back to the parent as its traceback (there it becomes ReplayFailed), so nothing is lost.
    """
    # A thread of its own receives (and unpickles) while this one applies: SQLite lets go of the interpreter while
    # it writes, and the reading process's sends never wait on a full socket. It starts before the store opens,
    # so the first batches are taken in while the projection's modules load.
    inbox: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_receive_all, args=(conn, inbox), name="replay-receiver", daemon=True).start()
    try:
        opening = inbox.get()
        if opening[0] == "gone":
            return
        if opening[0] == "raise":  # the projection did not unpickle here
            conn.send(("error", opening[1]))
            return
        projection, store, fresh = opening
        fold = projection.open(store, fresh=fresh)
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", traceback.format_exc()))
        return
    # Decoding makes many short-lived objects; with the default thresholds the collector ran thousands of times
    # over everything the fold keeps (caches, compiled statements), a third of the decode time. Collect rarely,
    # and never look at what was built to start with.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    held: list[Decoded] = []  # batches that arrived together, applied in one transaction
    answers: list[int] = []  # what each of them applied, answered once they are

    def apply_held() -> None:
        if held:
            fold.apply(held)
        for applied in answers:
            conn.send(("ok", applied))
        held.clear()
        answers.clear()

    try:
        while True:
            op, args = inbox.get()
            if op in ("fold", "apply"):
                if op == "fold":
                    batch, floor = args
                    args = [d for d in map(fold.decode, batch) if d is not None and d.seq > floor]
                held.extend(args)
                answers.append(len(args))
                # When the next batch is already waiting, this process is the slower one: fewer, larger
                # transactions write each index page fewer times (100k events: 2.4 s of SQLite work at 2,000
                # a transaction, 2.1 s at 6,000).
                if len(held) >= COALESCE or inbox.empty():
                    apply_held()
                continue
            apply_held()
            if op == "raise":  # the reading process could not decode a batch
                conn.send(("error", args))
                return
            elif op == "positions":
                conn.send(("ok", fold.positions()))
            elif op == "counts":
                conn.send(("ok", fold.counts()))
            elif op == "close":
                conn.send(("ok", None))
                return
            elif op == "gone":
                return  # the parent went away (interrupted): nothing to answer
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", traceback.format_exc()))
    finally:
        fold.close()


def _receive_all(conn: Connection, inbox: queue.Queue[Any]) -> None:
    try:
        while True:
            item = conn.recv()
            inbox.put(item)
            if item[0] in ("close", "raise"):
                return
    except (EOFError, OSError):
        inbox.put(("gone", None))
    except Exception:  # noqa: BLE001 - what arrived does not unpickle: the fold reports it
        inbox.put(("raise", traceback.format_exc()))


if __name__ == "__main__":  # the fold's own process (ChildFold)
    _serve_fold(Connection(int(sys.argv[1])))
