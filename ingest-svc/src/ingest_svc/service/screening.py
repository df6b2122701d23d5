"""Before a candidate is offered it is screened for its user (the discovery lifecycle):
- a recording with a tombstone in `discovery_gate` (expired unkept, or hated) is left out: `CandidateExcluded`;
- so is a recording whose artist is in the user's `excluded_artists` (names compared folded, each name of a credit);
- a recording the library already holds is not acquired again: `OwnedTrackRecommended` puts it in this week's
  discovery playlist (it still counts as a duplicate, not towards the run's size);
- a recording by an artist the user hated (the artist of a tombstone of reason `hated`) goes after every other
  candidate of its source: it is offered only when the source has nothing else left.
CF recommendations carry no artist names: when the user has artist rules, ListenBrainz's recording metadata names
them (`/1/metadata/recording/`, one request per CF page), and a hated artist's CF candidates wait for the end of CF."""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from uuid import UUID

from contracts.common import CandidateSource
from contracts.discovery import CandidateExcluded, OwnedTrackRecommended
from contracts.ingest import RecommendationRunStarted
from contracts.livesettings import UserAccounts
from infra.http import ExternalError
from infra.textfold import credit_names, match_key

from ..domain.recommendations import Recommendation, Selection
from ..ports import DiscoveryGate, EventPublisher, KnownRecordings, RecommendationSource, Tombstone

__all__ = ["Screen", "Screener", "artist_keys"]

log = logging.getLogger(__name__)


@dataclass
class Screen:
    """What one run knows about its user to screen candidates with, and what it screened."""

    user: str
    run_id: uuid.UUID
    cause: RecommendationRunStarted
    excluded_artists: set[str]
    hated_artists: set[str]
    excluded: set[UUID] = field(default_factory=set)
    owned: set[UUID] = field(default_factory=set)


def artist_keys(artist: str | None) -> set[str]:
    """An artist credit as match keys: the whole credit and each artist it names."""
    if not artist:
        return set()
    return {match_key(artist), *credit_names(artist)} - {""}


class Screener:
    """Screens a run's candidates for its user and picks them up to a source's share. Remembers, per user, what it
    picked lately (`remember`)."""

    def __init__(
        self,
        source: RecommendationSource,
        gate: DiscoveryGate | None,
        known: KnownRecordings,
        publisher: EventPublisher,
        recent_limit: int,
    ) -> None:
        self.source = source
        self.gate = gate
        self.known = known
        self.publisher = publisher
        # Candidates this process published lately, per user. Until acquire-svc's gate holds them (or when resolve
        # gave up on one), the radio may offer the same recording again; this keeps it from coming back every run.
        self._recent: dict[str, OrderedDict[UUID, None]] = {}
        self.recent_limit = recent_limit

    async def for_run(
        self, user: str, acc: UserAccounts, run_id: uuid.UUID, started: RecommendationRunStarted
    ) -> Screen:
        excluded = {match_key(a) for a in acc.excluded_artists} - {""}
        hated = await self.gate.hated_artists(user) if self.gate is not None else set()
        return Screen(user, run_id, started, excluded, {match_key(a) for a in hated} - {""})

    async def pick(
        self,
        lb_user: str,
        items: list[Recommendation],
        quota: int,
        selection: Selection,
        screen: Screen,
        source: CandidateSource,
        *,
        fill_deferred: bool = True,
    ) -> tuple[list[Recommendation], int, list[Recommendation]]:
        """Take up to `quota` of `items` in order, screened for the user. Returns the pick, how many items were
        looked at, and the hated artists' items looked at and left (they come last: taken only once the others
        ran out)."""
        chosen: list[Recommendation] = []
        deferred: list[Recommendation] = []
        if quota <= 0 or not items:
            return chosen, 0, deferred
        consumed = 0
        # looked up a slice at a time: a 1000-track list for a share of 4 costs a few lookups, not 3000
        step = max(25, 2 * quota)
        while consumed < len(items) and len(chosen) < quota:
            batch = items[consumed : consumed + step]
            mbids = [i.recording_mbid for i in batch]
            stones = await self.gate.tombstones(screen.user, mbids) if self.gate is not None else {}
            known = await self._known(lb_user, mbids)
            owned = await self.known.owned([m for m in mbids if m in known]) if known else {}
            for item in batch:
                if len(chosen) >= quota:
                    break
                consumed += 1
                m = item.recording_mbid
                if m in screen.excluded:
                    continue
                if m in selection.seen:
                    selection.admit(m, True)  # offered by another source already: a duplicate
                    continue
                names = artist_keys(item.artist)
                stone = stones.get(m)
                if stone is not None or names & screen.excluded_artists:
                    await self._exclude(screen, item, source, "tombstone" if stone else "artist_excluded", stone)
                    continue
                if m in owned:
                    await self._owned_again(screen, item, source, owned[m])
                elif m not in known and names & screen.hated_artists:
                    deferred.append(item)
                    continue
                if selection.admit(m, m in known):
                    chosen.append(item)
        if fill_deferred and consumed == len(items):
            while deferred and len(chosen) < quota:
                item = deferred.pop(0)
                if selection.admit(item.recording_mbid, False):
                    chosen.append(item)
        return chosen, consumed, deferred

    async def _exclude(
        self, screen: Screen, item: Recommendation, source: CandidateSource, reason: str, stone: Tombstone | None
    ) -> None:
        screen.excluded.add(item.recording_mbid)
        artist = item.artist or (stone.artist if stone else None)
        log.info("%s left out for %s: %s (%s)", item.recording_mbid, screen.user, reason, artist or "artist unknown")
        await self.publisher.publish(
            CandidateExcluded.caused_by(
                screen.cause,
                event_id=uuid.uuid5(screen.run_id, f"excluded:{item.recording_mbid}"),
                recording_mbid=item.recording_mbid,
                source=source,
                run_id=screen.run_id,
                artist=artist,
                reason=reason,
            )
        )

    async def _owned_again(self, screen: Screen, item: Recommendation, source: CandidateSource, track: str) -> None:
        """The library holds it already: it joins the user's discovery playlist of the week, not the downloads."""
        if item.recording_mbid in screen.owned:
            return
        screen.owned.add(item.recording_mbid)
        await self.publisher.publish(
            OwnedTrackRecommended.caused_by(
                screen.cause,
                event_id=uuid.uuid5(screen.run_id, f"owned:{item.recording_mbid}"),
                recording_mbid=item.recording_mbid,
                source=source,
                run_id=screen.run_id,
                track_id=track,
            )
        )

    async def _known(self, user: str, mbids: list[UUID]) -> set[UUID]:
        recent = self._recent.get(user, OrderedDict())
        return {m for m in mbids if m in recent} | await self.known.known(mbids)

    def remember(self, user: str, mbids: list[UUID]) -> None:
        recent = self._recent.setdefault(user, OrderedDict())
        for m in mbids:
            recent[m] = None
            recent.move_to_end(m)
        while len(recent) > self.recent_limit:
            recent.popitem(last=False)

    async def named(self, items: list[Recommendation], token: str | None, screen: Screen) -> list[Recommendation]:
        """CF names no artists: when the user has artist rules, ListenBrainz's metadata names them (a failure to
        name them leaves them unnamed: tombstones and the dedupe still apply)."""
        if not (screen.excluded_artists or screen.hated_artists) or not items:
            return items
        unnamed = [i.recording_mbid for i in items if not i.artist]
        if not unnamed:
            return items
        try:
            names = await self.source.recording_names(unnamed, token)
        except ExternalError as exc:
            log.warning("artists of %d CF candidates of %s unknown: %s", len(unnamed), screen.user, exc)
            return items
        return [
            replace(i, artist=names[i.recording_mbid][0], title=i.title or names[i.recording_mbid][1])
            if not i.artist and i.recording_mbid in names
            else i
            for i in items
        ]
