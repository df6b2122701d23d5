"""A recommendation run for one user: CF from the stored offset with retrain detection, the playlists ListenBrainz
generated for the user (Weekly Exploration, Weekly Jams), and LB Radio seeded from the user's top artists, deduped
by recording MBID across the three and against what is wanted, in flight or owned.

The shares: the generated playlists take `playlists_ratio` of the run, CF and radio share the rest by `cf_ratio`.
A source that falls short is made up by the others: an exhausted CF and a short (or failed) playlist pick by the
radio, and a radio that falls short too by the playlists' remaining tracks.

Before a candidate is offered it is screened for its user (`screening`).
While `discovery_gate` holds `paused` (the disk budget), a run fetches nothing and fails with reason `paused`."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field, replace

from contracts.common import CandidateSource
from contracts.ingest import (
    CandidateDiscovered,
    RecommendationRunCompleted,
    RecommendationRunFailed,
    RecommendationRunStarted,
)
from contracts.livesettings import UserAccounts
from infra.http import ExternalError
from infra.upstreams import describe_failure

from ..config import RunConfig
from ..domain.recommendations import (
    Recommendation,
    Selection,
    split_run3,
)
from ..health import SourceHealth
from ..ports import (
    CursorStore,
    DiscoveryGate,
    EventPublisher,
    KnownRecordings,
    RecommendationSource,
)
from .failures import poll_failed
from .feedback import FeedbackReader
from .screening import Screener
from .sources import RunSources, radio_prompt

__all__ = ["CANDIDATE_NAMESPACE", "RecommendationService", "RunReport", "radio_prompt"]

log = logging.getLogger(__name__)

CANDIDATE_NAMESPACE = uuid.UUID("0d6c3b1e-8f43-4b8e-9a57-5c2f7d9e1a10")


@dataclass(frozen=True)
class RunReport:
    run_id: uuid.UUID
    cf: list[Recommendation]
    radio: list[Recommendation]
    duplicates: int
    cf_offset: int
    cf_exhausted: bool
    retrained: bool
    errors: list[ExternalError]
    failed: bool = False
    """Every source tried failed: the run recommended nothing and says why in `RecommendationRunFailed`."""
    playlists: list[Recommendation] = field(default_factory=list)
    excluded: int = 0
    owned: int = 0
    """Owned recordings recommended again (`OwnedTrackRecommended`)."""
    paused: str | None = None
    """Why the run did not fetch anything: the disk budget paused runs."""


class RecommendationService:
    def __init__(
        self,
        source: RecommendationSource,
        cursors: CursorStore,
        known: KnownRecordings,
        publisher: EventPublisher,
        health: SourceHealth,
        *,
        gate: DiscoveryGate | None = None,
        feedback: FeedbackReader | None = None,
        recent_limit: int = 10_000,
    ) -> None:
        self.source = source
        self.gate = gate
        self.feedback = feedback
        self.cursors = cursors
        self.known = known
        self.publisher = publisher
        self.health = health
        self._locks: dict[str, asyncio.Lock] = {}
        self.screener = Screener(source, gate, known, publisher, recent_limit)
        self.sources = RunSources(source, publisher, self.screener)

    async def run(
        self,
        user: str,
        accounts: UserAccounts,
        cfg: RunConfig,
        *,
        trigger: str = "schedule",
        interval_s: float = 0.0,
        run_id: uuid.UUID | None = None,
    ) -> RunReport:
        """One run. External failures are published as `PollFailed` and returned in the report, not raised."""
        lock = self._locks.setdefault(user, asyncio.Lock())
        async with lock:  # a manual run and the schedule never page the same cursor at once
            report = await self._run(user, accounts, cfg, trigger, interval_s, run_id or uuid.uuid4())
            if self.feedback is not None:  # also while paused: a hate given on the website frees room
                await self.feedback.read_back(user, accounts)
            return report

    async def _run(
        self, user: str, acc: UserAccounts, cfg: RunConfig, trigger: str, interval_s: float, run_id: uuid.UUID
    ) -> RunReport:
        lb_user = acc.listenbrainz_user or user
        paused = await self.gate.paused() if self.gate is not None else None
        if paused is not None:
            return await self._paused(user, run_id, trigger, paused)
        self.health.resumed(user)
        cf_quota, radio_quota, pl_quota = split_run3(cfg.run_size, cfg.cf_ratio, cfg.playlists_ratio)
        started = RecommendationRunStarted(
            event_id=uuid.uuid5(run_id, "started"),
            user=user,
            run_id=run_id,
            trigger=trigger,
            run_size=cfg.run_size,
            cf_ratio=cfg.cf_ratio,
            playlists_ratio=cfg.playlists_ratio,
        )
        await self.publisher.publish(started)
        screen = await self.screener.for_run(user, acc, run_id, started)
        cursor = await self.cursors.cf(user)
        selection = Selection()
        errors: list[ExternalError] = []
        cf: list[Recommendation] = []
        exhausted = retrained = False
        failures: list[str] = []
        tried = 1
        try:
            cf, cursor, exhausted, retrained = await self.sources.cf(
                lb_user, acc, cfg, cursor, cf_quota, selection, started, screen
            )
        except ExternalError as exc:
            errors.append(exc)
            failures.append(f"CF: {describe_failure(exc).text}")
            await self._failed(user, "cf", interval_s, exc)
        else:
            self.health.success(user, "cf", interval_s, len(cf))
        playlists: list[Recommendation] = []
        spare: list[Recommendation] = []  # playlist tracks beyond the playlists' share, for a short radio
        pl_short = 0
        if pl_quota > 0:
            tried += 1
            try:
                playlists, spare = await self.sources.playlists(lb_user, acc, pl_quota, selection, screen)
            except ExternalError as exc:
                errors.append(exc)
                failures.append(f"playlists: {describe_failure(exc).text}")
                await self._failed(user, "playlists", interval_s, exc)
                pl_short = pl_quota
            else:
                self.health.success(user, "playlists", interval_s, len(playlists))
                pl_short = pl_quota - len(playlists)
        # the radio makes up for an exhausted CF and a short or failed playlist pick
        radio_target = radio_quota + (cf_quota - len(cf) if exhausted else 0) + pl_short
        radio: list[Recommendation] = []
        if radio_target > 0:
            tried += 1
            try:
                radio, cursor = await self.sources.radio(lb_user, acc, cfg, cursor, radio_target, selection, screen)
            except ExternalError as exc:
                errors.append(exc)
                failures.append(f"radio: {describe_failure(exc).text}")
                await self._failed(user, "radio", interval_s, exc)
            else:
                self.health.success(user, "radio", interval_s, len(radio))
        if len(radio) < radio_target and spare:
            # the playlists make up for a short (or failed) radio with their remaining tracks
            extra, _, _ = await self.screener.pick(
                lb_user, spare, radio_target - len(radio), selection, screen, CandidateSource.PLAYLISTS
            )
            playlists += extra
        marker = cursor.marker.value if cursor.marker else "none"
        for source, items in (
            (CandidateSource.CF, cf),
            (CandidateSource.RADIO, radio),
            (CandidateSource.PLAYLISTS, playlists),
        ):
            for item in items:
                await self.publisher.publish(
                    CandidateDiscovered(
                        # one event per candidate and model: a run repeated after a crash publishes nothing new
                        event_id=uuid.uuid5(CANDIDATE_NAMESPACE, f"{user}:{source}:{marker}:{item.recording_mbid}"),
                        causation_id=started.event_id,
                        user=user,
                        recording_mbid=item.recording_mbid,
                        source=source,
                        run_id=run_id,
                        position=item.position,
                        score=item.score,
                        artist=item.artist,
                        title=item.title,
                    )
                )
        self.screener.remember(lb_user, [c.recording_mbid for c in cf + radio + playlists])
        cursor = replace(cursor, last_run_at=time.time())
        if len(errors) < tried:  # with ListenBrainz unreachable nothing moved; keep the cursor as it was
            await self.cursors.save_cf(user, cursor)
        excluded, owned = len(screen.excluded), len(screen.owned)
        if errors and len(errors) >= tried and not (cf or radio or playlists):
            await self.publisher.publish(
                RecommendationRunFailed.caused_by(
                    started,
                    event_id=uuid.uuid5(run_id, "failed"),
                    run_id=run_id,
                    trigger=trigger,
                    reason="unavailable",
                    detail="; ".join(failures),
                )
            )
            log.warning("run %s for %s (%s) failed: %s", run_id, user, trigger, "; ".join(failures))
            return RunReport(
                run_id,
                [],
                [],
                selection.duplicates,
                cursor.offset,
                exhausted,
                retrained,
                errors,
                True,
                excluded=excluded,
                owned=owned,
            )
        await self.publisher.publish(
            RecommendationRunCompleted.caused_by(
                started,
                event_id=uuid.uuid5(run_id, "completed"),
                run_id=run_id,
                cf_count=len(cf),
                radio_count=len(radio),
                playlists_count=len(playlists),
                duplicates_skipped=selection.duplicates,
                excluded=excluded,
                cf_offset=cursor.offset,
                cf_exhausted=exhausted,
                failures=failures,
            )
        )
        log.info(
            "run %s for %s (%s): %d CF + %d radio + %d playlists, %d duplicates (%d owned), %d excluded, "
            "CF offset %d%s",
            run_id,
            user,
            trigger,
            len(cf),
            len(radio),
            len(playlists),
            selection.duplicates,
            owned,
            excluded,
            cursor.offset,
            ", CF exhausted" if exhausted else "",
        )
        return RunReport(
            run_id,
            cf,
            radio,
            selection.duplicates,
            cursor.offset,
            exhausted,
            retrained,
            errors,
            playlists=playlists,
            excluded=excluded,
            owned=owned,
        )

    async def _paused(self, user: str, run_id: uuid.UUID, trigger: str, why: str) -> RunReport:
        """The disk budget stops runs: nothing is fetched; the run fails with reason `paused` and says why. The
        next one is tried after the interval, like any run."""
        log.info("run %s for %s (%s) paused: %s", run_id, user, trigger, why)
        self.health.paused(user, why)
        await self.publisher.publish(
            RecommendationRunFailed(
                event_id=uuid.uuid5(run_id, "failed"),
                user=user,
                run_id=run_id,
                trigger=trigger,
                reason="paused",
                detail=f"runs are paused: {why}",
            )
        )
        cursor = replace(await self.cursors.cf(user), last_run_at=time.time())
        await self.cursors.save_cf(user, cursor)
        return RunReport(run_id, [], [], 0, cursor.offset, False, False, [], paused=why)

    async def refuse(self, user: str, run_id: uuid.UUID, trigger: str, reason: str, detail: str) -> None:
        """A run that cannot start (no ListenBrainz account): it still shows, as failed with its reason."""
        log.info("run %s for %s (%s) not started: %s", run_id, user, trigger, detail)
        await self.publisher.publish(
            RecommendationRunFailed(
                event_id=uuid.uuid5(run_id, "failed"),
                user=user,
                run_id=run_id,
                trigger=trigger,
                reason=reason,
                detail=detail,
            )
        )

    async def due_in(self, user: str, interval_s: float) -> float:
        """Seconds until `user`'s next scheduled run (0 or less: due now). Survives restarts via the cursor."""
        cursor = await self.cursors.cf(user)
        return cursor.last_run_at + interval_s - time.time()

    async def _failed(self, user: str, source: str, interval_s: float, exc: ExternalError) -> None:
        log.warning("%s of %s failed: %s", source, user, exc)
        self.health.failure(user, source, interval_s, str(exc))
        await self.publisher.publish(poll_failed(user, source, exc))
