"""Several gateways behind one load balancer: where each replica keeps its read model and which consumers feed it.

A read model (journeys and the live feed, the listening history, the insights roll-ups) is a fold of every event.
Replicas that shared one durable consumer would each get only part of the events, so with BRAINSTREAM_REPLICA_ID
each replica has consumers of its own (the declared ones with `_<id>` appended), made at start from the declared
spec, with an inactive threshold so the server removes those of a replica that is gone. Each replica folds every
event into its own SQLite files under `gateway/replicas/<id>/`; what people own (accounts, sessions, tokens, time
zones) is in the one accounts database they share (`Settings.db_url`).

What must happen once whatever the number of replicas:
- commands come from HTTP requests, and each request reaches one replica;
- the re-match of unmatched plays runs on one replica (the holder of a lease in the `leases` bucket), and only once
  its history has read every play and answer so far: a replica still folding old events would ask again for plays
  answered long ago. Its id is made from the play and its attempt, so a round repeated by a new holder within the
  stream's duplicate window is stored once;
- a removed track's request-gate entry is released only while it still belongs to that journey, so a replica
  folding late never frees a newer request for the same track.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.topology import ConsumerSpec, consumers_of
from infra.lease import KvLease
from infra.provision import consumer_config, replicas_setting

from . import SERVICE
from .settings import Settings

__all__ = ["OnceAcrossReplicas", "ReplicaConsumers", "read_model_dir"]


def read_model_dir(settings: Settings) -> Path:
    """The directory of this process's read-model files: the gateway's own, or its replica's."""
    home = settings.data_dir / "gateway"
    return home / "replicas" / settings.replica_id if settings.replica_id else home


class ReplicaConsumers:
    """The gateway's durable consumers for this process: the declared ones, or this replica's own copies."""

    def __init__(self, replica: str | None, inactive_s: float) -> None:
        self.replica, self.inactive_s = replica, inactive_s
        self.specs: dict[str, ConsumerSpec] = {}
        """Declared durable name -> the spec this process binds to."""
        for spec in consumers_of(SERVICE):
            own = spec if replica is None else spec.model_copy(update={"durable": f"{spec.durable}_{replica}"})
            self.specs[spec.durable] = own

    async def ensure(self, js: JetStreamContext) -> None:
        """Make this replica's consumers (from the start of each stream) unless they exist; nothing for one gateway,
        whose consumers `brainstream provision` makes."""
        if self.replica is None:
            return
        replicas = replicas_setting()
        for spec in self.specs.values():
            wanted = consumer_config(spec, replicas)
            wanted.inactive_threshold = self.inactive_s
            try:
                await js.consumer_info(spec.stream, spec.durable)
            except NotFoundError:
                await js.add_consumer(spec.stream, wanted)


class OnceAcrossReplicas:
    """A periodic job that one replica runs, once its read model has caught up with the streams it reads.

    The lease lives three rounds: its holder renews it every round, and another replica takes over within three
    rounds of the holder's death. With one gateway (no replica id) there is no lease, only the catch-up check."""

    def __init__(
        self,
        job: Callable[[], Awaitable[object]],
        reads: list[ConsumerSpec],
        key: str,
        every_s: float,
        *,
        slack: int = 50,
    ) -> None:
        self.job, self.reads, self.key, self.every_s = job, reads, key, every_s
        self.slack = slack
        """Events a consumer may still have waiting and count as caught up: a busy server always has a few, and a
        round must not starve; a replica folding from the start has thousands."""
        self._lease: KvLease | None = None
        self._js: JetStreamContext | None = None

    async def bind(self, js: JetStreamContext, holder: str | None) -> None:
        """`holder`: this replica's name; None for one gateway."""
        self._js = js
        self._lease = await KvLease.open(js, self.key, holder, 3 * self.every_s) if holder else None

    async def round(self) -> bool:
        """Run the job if this process is the one to; True when it ran."""
        if self._js is None or (self._lease is not None and not await self._lease.hold()):
            return False
        for spec in self.reads:
            info = await self._js.consumer_info(spec.stream, spec.durable)
            if (info.num_pending or 0) > self.slack:
                logging.getLogger(__name__).info("%s waits: %s still folding", self.key, spec.durable)
                return False
        await self.job()
        return True
