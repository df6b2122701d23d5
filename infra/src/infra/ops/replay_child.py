"""The fold of a streaming projection in a process of its own: `python -m infra.ops.replay_child <fd>`.

`replay()` reads the stream here while the child decodes and applies batches there, so the two use both cores;
nats-py's reading and the fold are each bound by one core of Python.
"""

from __future__ import annotations

import contextlib
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

    Batches of stored messages go over a socket; the child decodes and applies them and answers how many it
    applied. A thread of ours does the sending, so the event loop never blocks on the socket. For a projection
    that decodes without its store (`DecodesWhileReading`) that thread decodes every other batch itself and sends
    it decoded, so the Python work is shared between the cores. At most AHEAD batches are in flight: enough to go
    on reading and decoding while the child starts (1.5-2 s of imports); with all decoding in the child, 16 ahead
    was slower than 2, as reading took CPU from the fold.
    """

    AHEAD = 16
    DECODE_THERE = 2

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
        # a projection that decodes without its store has it done here, by the sending thread: decoding and
        # building rows then share this process's core with reading, and the fold process only writes
        self._decode = projection.decode if isinstance(projection, DecodesWhileReading) else None
        self._batches = 0
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._sender = threading.Thread(target=self._send_all, name="replay-sender", daemon=True)
        self._sender.start()
        self._outbox.put((projection, store, fresh))

    def _send_all(self) -> None:
        while (item := self._outbox.get()) is not None:
            try:
                if item[0] == "fold" and self._decode is not None and self._here():  # decoded here, applied there
                    batch, floor = item[1]
                    item = ("apply", [d for d in map(self._decode, batch) if d is not None and d.seq > floor])
                self._conn.send(item)
            except OSError:
                return  # the child is gone; the next receive says how
            except Exception:  # noqa: BLE001 - a message that does not decode: the child reports it, in order
                with contextlib.suppress(OSError):
                    self._conn.send(("raise", traceback.format_exc()))

    def _here(self) -> bool:
        """Whether this batch is decoded here: every one but each DECODE_THERE-th, which the fold process decodes.

        Reading costs this process as much as writing costs the fold process, so decoding everything here made
        this side the slower one (the fold process waited a third of the time); half each was the fastest split
        measured (100k events: all there 13.5k events/s, all here 14.7k, every third there 15.0k, half 15.2k).
        """
        self._batches += 1
        return self._batches % self.DECODE_THERE != 0

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
            self._sender.join(timeout=30)
            self._conn.close()


def _serve_fold(conn: Connection) -> None:
    """The child's loop: open the store, then answer `positions`, `fold`, `counts` and `close` in order.

    Any failure goes back to the parent as its traceback (there it becomes ReplayFailed), so nothing is lost.
    """
    try:
        projection, store, fresh = conn.recv()
        fold = projection.open(store, fresh=fresh)
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", traceback.format_exc()))
        return
    # Decoding makes many short-lived objects; with the default thresholds the collector ran thousands of times
    # over everything the fold keeps (caches, compiled statements), a third of the decode time. Collect rarely,
    # and never look at what was built to start with.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        while True:
            op, args = conn.recv()
            if op == "fold":
                batch, floor = args
                decoded = [d for d in map(fold.decode, batch) if d is not None and d.seq > floor]
                if decoded:
                    fold.apply(decoded)
                conn.send(("ok", len(decoded)))
            elif op == "apply":  # decoded by the reading process
                if args:
                    fold.apply(args)
                conn.send(("ok", len(args)))
            elif op == "raise":  # the reading process could not decode a batch
                conn.send(("error", args))
                return
            elif op == "positions":
                conn.send(("ok", fold.positions()))
            elif op == "counts":
                conn.send(("ok", fold.counts()))
            elif op == "close":
                conn.send(("ok", None))
                return
    except EOFError:
        return  # the parent went away (interrupted): nothing to answer
    except Exception:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", traceback.format_exc()))
    finally:
        fold.close()


if __name__ == "__main__":  # the fold's own process (ChildFold)
    _serve_fold(Connection(int(sys.argv[1])))
