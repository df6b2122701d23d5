"""The Sonos listen source: poll every configured speaker, follow each group's plays, record the ones that count.

One poll:
1. locate each speaker (its room and its group's coordinator): a group plays one stream, so it is read once, from
   its coordinator, and makes one play, whichever of its speakers are configured;
2. read each coordinator's transport state and track, name the service from the speaker's own service list;
3. feed the group's `PlayTracker` (the counting rules are in `domain/sonos_plays.py`);
4. record each counted play as a `ListenRecorded` (source `sonos`) through the listen gate, like every source.

Failures stay per speaker. An unreachable speaker (off, unplugged) is reported with its last success and polled
again at the next interval. A speaker whose poll raised anything else is retried after a back-off (the interval,
doubled at each failure, at most five minutes) while the others go on; health says which, why and when it retries.
A play that could not be published (NATS away) is kept and sent at the next poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from nats.errors import Error as NatsError

from ..domain.listens import Listen
from ..domain.sonos_config import SonosConfig
from ..domain.sonos_meta import detect_service
from ..domain.sonos_plays import CountedPlay, LoggedPlay, PlayRules, PlayTracker, Snapshot
from ..ports import PlayMemory, SonosNetwork, SpeakerState, SpeakerUnreachable, SpeakerWhere
from ..sonos_health import SonosHealth
from .listens import ListenService

__all__ = ["SonosPoller", "listen_of"]

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BACKOFF_S = 300.0
DISCOVER_EVERY_S = 300.0
MISSED_POLLS = 3
SERVICES_RETRY_S = 600.0


@dataclass
class _Group:
    tracker: PlayTracker
    user: str = ""
    where: SpeakerWhere | None = None
    missed: int = 0
    """Polls in a row that did not reach the coordinator."""


def listen_of(play: CountedPlay, where: SpeakerWhere) -> Listen:
    ids = {
        "room": where.coordinator_room,
        "service": play.service.name,
        "track_uri": play.uri,
        "speaker": where.coordinator_uid,
    }
    if play.service.sid is not None:
        ids["service_id"] = str(play.service.sid)
    if len(where.group_rooms) > 1:
        ids["group"] = ", ".join(where.group_rooms)
    if play.station:
        ids["station"] = play.station
    return Listen(
        source="sonos",
        listened_at=play.started_at,
        artist=play.artist,
        title=play.title,
        album=play.album,
        duration_ms=int(play.duration_s * 1000) if play.duration_s else None,
        play_identity=f"{where.coordinator_uid}|{play.uri}|{play.artist}|{play.title}|{play.started_at.isoformat()}",
        source_ids=ids,
        raw={"played_s": play.played_s, "radio": play.radio, **ids},
    )


class SonosPoller:
    def __init__(
        self,
        network: SonosNetwork,
        listens: ListenService,
        config: Callable[[], SonosConfig],
        health: SonosHealth,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        memory: PlayMemory | None = None,
    ) -> None:
        self.network = network
        self.memory = memory
        self.listens = listens
        self.config = config
        self.health = health
        self.clock = clock
        self.groups: dict[str, _Group] = {}
        """One per group coordinator (by uid)."""
        self._failures: dict[str, tuple[int, datetime]] = {}
        self._unsent: list[tuple[str, Listen]] = []
        self._discovered: list[str] = []
        self._services_failed: dict[str, datetime] = {}
        self._discovered_at: datetime | None = None
        self._last_good = SonosConfig()

    def current_config(self) -> SonosConfig:
        try:
            self._last_good = self.config()
        except ValueError as exc:  # a live setting the gateway let through but that does not parse: keep the last
            log.error("Sonos settings are invalid, keeping the previous ones: %s", exc)
            self.health.loop_failed(f"invalid settings: {exc}")
        return self._last_good

    @property
    def interval_s(self) -> float:
        return self._last_good.interval_s

    async def _addresses(self, cfg: SonosConfig) -> list[str]:
        addresses = list(cfg.speakers)
        if cfg.discover:
            now = self.clock()
            if self._discovered_at is None or (now - self._discovered_at).total_seconds() >= DISCOVER_EVERY_S:
                self._discovered_at = now
                try:
                    self._discovered = await self.network.discover()
                except OSError as exc:  # no multicast route, no interface: configured speakers still work
                    log.warning("Sonos discovery failed: %s", exc)
            addresses += [a for a in self._discovered if a not in addresses]
        return addresses

    async def poll_once(self) -> int:
        """One round over every speaker; answers the number of plays newly recorded."""
        cfg = self.current_config()
        addresses = await self._addresses(cfg)
        self.health.configured(addresses, cfg.interval_s, enabled=cfg.enabled)
        now = self.clock()
        due = [a for a in addresses if a not in self._failures or self._failures[a][1] <= now]
        located = await asyncio.gather(*(self._guarded([a], cfg, self.network.locate(a)) for a in due))
        groups: dict[str, list[SpeakerWhere]] = {}
        for where in located:
            if where is not None:
                groups.setdefault(where.coordinator_uid, []).append(where)
        reached = await asyncio.gather(*(self._poll_group(cfg, members) for members in groups.values()))
        self._retire_missing({uid for uid, ok in zip(groups, reached, strict=True) if ok}, now)
        recorded = await self._flush()
        self.health.poll_done()
        return recorded

    async def _guarded(self, addresses: list[str], cfg: SonosConfig, call: Awaitable[T]) -> T | None:
        """Run one speaker call; an absent speaker or a failing poll is reported for `addresses`, not raised."""
        try:
            return await call
        except SpeakerUnreachable as exc:
            for address in addresses:
                view = self.health.polled(address, ok=False, error=str(exc))
                view.status = "unreachable"
            log.info("Sonos speaker unreachable: %s", exc)
        except Exception as exc:
            failures = self._failures.get(addresses[0], (0, self.clock()))[0] + 1
            backoff = min(MAX_BACKOFF_S, cfg.interval_s * 2**failures)
            retry_at = self.clock() + timedelta(seconds=backoff)
            log.exception("polling Sonos speaker %s failed; retrying in %.0fs", ", ".join(addresses), backoff)
            for address in addresses:
                self._failures[address] = (failures, retry_at)
                view = self.health.polled(address, ok=False, error=f"{type(exc).__name__}: {exc}")
                view.status, view.failures, view.retry_at = "failing", failures, retry_at.isoformat()
        return None

    async def _poll_group(self, cfg: SonosConfig, members: list[SpeakerWhere]) -> bool:
        """Read the group's coordinator and follow its play; False when the coordinator could not be read."""
        lead = members[0]
        addresses = [m.address for m in members]
        state = await self._guarded(addresses, cfg, self.network.state(lead.coordinator_address))
        if state is None:
            return False
        snap = self._snapshot(state, await self._services(lead.coordinator_address))
        user = cfg.user_of(lead.coordinator_room, lead.coordinator_address, *(m.room for m in members), *addresses)
        group = self.groups.get(lead.coordinator_uid)
        if group is None:
            last = await self._remembered(lead.coordinator_uid)
            tracker = PlayTracker(PlayRules.for_interval(cfg.interval_s), last)
            group = self.groups[lead.coordinator_uid] = _Group(tracker)
        group.user, group.where, group.missed = user, lead, 0
        last_before = group.tracker.last
        for play in group.tracker.observe(snap):
            log.info("Sonos %s: %s - %s (%s) counts for %s", lead.coordinator_room, play.artist, play.title,
                     play.service.name, user)  # fmt: skip
            self._unsent.append((user, listen_of(play, lead)))
        if group.tracker.last is not None and group.tracker.last != last_before:
            await self._remember(lead.coordinator_uid, group.tracker.last)
        for member in members:
            self._failures.pop(member.address, None)
            self._show(member, snap, user)
        return True

    async def _services(self, address: str) -> dict[int, str]:
        """The speaker's own service list; without it the checked fallback table names the services, and the list
        is asked for again after `SERVICES_RETRY_S` (not at every poll, which would log the same fault every time)."""
        now = self.clock()
        failed_at = self._services_failed.get(address)
        if failed_at is not None and (now - failed_at).total_seconds() < SERVICES_RETRY_S:
            return {}
        try:
            services = await self.network.services(address)
        except SpeakerUnreachable as exc:
            log.info("no music service list from %s (%s): naming services from the fallback table", address, exc)
        except Exception:
            log.exception("the music service list of %s is unreadable: the fallback table names services", address)
        else:
            self._services_failed.pop(address, None)
            return services
        self._services_failed[address] = now
        return {}

    async def _remembered(self, uid: str) -> LoggedPlay | None:
        if self.memory is None:
            return None
        try:
            return await self.memory.last_play(uid)
        except (NatsError, OSError, TimeoutError) as exc:  # a double count after a restart at worst, never a stop
            log.warning("could not read the last Sonos play of %s: %s", uid, exc)
            return None

    async def _remember(self, uid: str, play: LoggedPlay) -> None:
        if self.memory is None:
            return
        try:
            await self.memory.save_last_play(uid, play)
        except (NatsError, OSError, TimeoutError) as exc:
            log.warning("could not keep the last Sonos play of %s: %s", uid, exc)

    def _retire_missing(self, seen: set[str], now: datetime) -> None:
        """A group not reached for `MISSED_POLLS` polls in a row has ended (regrouped, switched off): its open radio
        title is logged as of now. A single missed poll (a network blip) ends nothing."""
        for uid, group in list(self.groups.items()):
            if uid in seen:
                continue
            group.missed += 1
            if group.missed >= MISSED_POLLS and group.where is not None:
                del self.groups[uid]
                for play in group.tracker.end(now):
                    self._unsent.append((group.user, listen_of(play, group.where)))

    def _snapshot(self, state: SpeakerState, services: dict[int, str]) -> Snapshot:
        return Snapshot(
            at=self.clock(),
            state=state.state,
            uri=state.uri,
            service=detect_service(state.uri, services),
            queue_position=state.queue_position,
            title=state.title,
            artist=state.artist,
            album=state.album,
            duration_s=state.duration_s,
            position_s=state.position_s,
            stream_content=state.stream_content,
            station=state.station,
        )

    def _show(self, where: SpeakerWhere, snap: Snapshot, user: str) -> None:
        view = self.health.polled(where.address, ok=True)
        view.room = where.room
        view.group = where.coordinator_room if where.uid != where.coordinator_uid else None
        view.state, view.user = snap.state, user
        view.service = snap.service.name if snap.uri else None
        view.station = snap.station if snap.radio else None
        if snap.radio:
            rt = snap.radio_title()
            view.artist, view.title, view.album = rt.artist, rt.title, rt.album
        else:
            view.artist, view.title, view.album = snap.artist, snap.title, snap.album

    async def _flush(self) -> int:
        recorded = 0
        while self._unsent:
            user, listen = self._unsent[0]
            try:
                recorded += await self.listens.record(user, listen)
            except (NatsError, OSError, TimeoutError) as exc:
                log.warning("could not publish a Sonos play (%d waiting), retrying at the next poll: %s",
                            len(self._unsent), exc)  # fmt: skip
                break
            self._unsent.pop(0)
        self.health.unsent = len(self._unsent)
        return recorded
