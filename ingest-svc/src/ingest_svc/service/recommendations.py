"""A recommendation run for one user: CF from the stored offset with retrain detection, LB Radio seeded from the
user's top artists, deduped by recording MBID across both and against what is wanted, in flight or owned."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from uuid import UUID

from contracts.common import CandidateSource
from contracts.ingest import (
    CandidateDiscovered,
    ModelRetrained,
    RecommendationRunCompleted,
    RecommendationRunFailed,
    RecommendationRunStarted,
)
from contracts.livesettings import UserAccounts
from infra.http import ExternalError
from infra.upstreams import describe_failure

from ..config import RunConfig
from ..domain.recommendations import (
    CfCursor,
    CfPage,
    Recommendation,
    Selection,
    detect_retrain,
    marker_of,
    split_run,
)
from ..health import SourceHealth
from ..ports import CursorStore, EventPublisher, KnownRecordings, RecommendationSource, SeedArtist
from .failures import poll_failed

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


def radio_prompt(seeds: list[SeedArtist]) -> str:
    """An LB Radio prompt from seed artists: their MBIDs where known (as LB Radio advises), else their names."""
    terms = []
    for a in seeds:
        ref = a.mbid or a.name.replace("(", " ").replace(")", " ").strip()
        terms.append(f"artist:({ref})")
    return " ".join(terms)


class RecommendationService:
    def __init__(
        self,
        source: RecommendationSource,
        cursors: CursorStore,
        known: KnownRecordings,
        publisher: EventPublisher,
        health: SourceHealth,
        *,
        recent_limit: int = 10_000,
    ) -> None:
        self.source = source
        self.cursors = cursors
        self.known = known
        self.publisher = publisher
        self.health = health
        self._locks: dict[str, asyncio.Lock] = {}
        # Candidates this process published lately, per user. Until acquire-svc's gate holds them (or when resolve
        # gave up on one), the radio may offer the same recording again; this keeps it from coming back every run.
        self._recent: dict[str, OrderedDict[UUID, None]] = {}
        self.recent_limit = recent_limit

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
            return await self._run(user, accounts, cfg, trigger, interval_s, run_id or uuid.uuid4())

    async def _run(
        self, user: str, acc: UserAccounts, cfg: RunConfig, trigger: str, interval_s: float, run_id: uuid.UUID
    ) -> RunReport:
        lb_user = acc.listenbrainz_user or user
        cf_quota, radio_quota = split_run(cfg.run_size, cfg.cf_ratio)
        started = RecommendationRunStarted(
            event_id=uuid.uuid5(run_id, "started"),
            user=user,
            run_id=run_id,
            trigger=trigger,
            run_size=cfg.run_size,
            cf_ratio=cfg.cf_ratio,
        )
        await self.publisher.publish(started)
        cursor = await self.cursors.cf(user)
        selection = Selection()
        errors: list[ExternalError] = []
        cf: list[Recommendation] = []
        exhausted = retrained = False
        failures: list[str] = []
        try:
            cf, cursor, exhausted, retrained = await self._cf(lb_user, acc, cfg, cursor, cf_quota, selection, started)
        except ExternalError as exc:
            errors.append(exc)
            failures.append(f"CF: {describe_failure(exc).text}")
            await self._failed(user, "cf", interval_s, exc)
        else:
            self.health.success(user, "cf", interval_s, len(cf))
        radio_target = radio_quota + (cf_quota - len(cf) if exhausted else 0)  # radio backfills an exhausted CF
        radio: list[Recommendation] = []
        if radio_target > 0:
            try:
                radio, cursor = await self._radio(lb_user, acc, cfg, cursor, radio_target, selection)
            except ExternalError as exc:
                errors.append(exc)
                failures.append(f"radio: {describe_failure(exc).text}")
                await self._failed(user, "radio", interval_s, exc)
            else:
                self.health.success(user, "radio", interval_s, len(radio))
        marker = cursor.marker.value if cursor.marker else "none"
        for source, items in ((CandidateSource.CF, cf), (CandidateSource.RADIO, radio)):
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
        self._remember(lb_user, [c.recording_mbid for c in cf + radio])
        cursor = replace(cursor, last_run_at=time.time())
        if len(errors) < 2:  # with ListenBrainz unreachable nothing moved; keep the cursor as it was
            await self.cursors.save_cf(user, cursor)
        tried = 1 + (radio_target > 0)
        if errors and len(errors) >= tried and not (cf or radio):
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
            return RunReport(run_id, [], [], selection.duplicates, cursor.offset, exhausted, retrained, errors, True)
        await self.publisher.publish(
            RecommendationRunCompleted.caused_by(
                started,
                event_id=uuid.uuid5(run_id, "completed"),
                run_id=run_id,
                cf_count=len(cf),
                radio_count=len(radio),
                duplicates_skipped=selection.duplicates,
                cf_offset=cursor.offset,
                cf_exhausted=exhausted,
                failures=failures,
            )
        )
        log.info(
            "run %s for %s (%s): %d CF + %d radio, %d duplicates, CF offset %d%s",
            run_id,
            user,
            trigger,
            len(cf),
            len(radio),
            selection.duplicates,
            cursor.offset,
            ", CF exhausted" if exhausted else "",
        )
        return RunReport(run_id, cf, radio, selection.duplicates, cursor.offset, exhausted, retrained, errors)

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

    async def _known(self, user: str, mbids: list[UUID]) -> set[UUID]:
        recent = self._recent.get(user, OrderedDict())
        return {m for m in mbids if m in recent} | await self.known.known(mbids)

    def _remember(self, user: str, mbids: list[UUID]) -> None:
        recent = self._recent.setdefault(user, OrderedDict())
        for m in mbids:
            recent[m] = None
            recent.move_to_end(m)
        while len(recent) > self.recent_limit:
            recent.popitem(last=False)

    async def _failed(self, user: str, source: str, interval_s: float, exc: ExternalError) -> None:
        log.warning("%s of %s failed: %s", source, user, exc)
        self.health.failure(user, source, interval_s, str(exc))
        await self.publisher.publish(poll_failed(user, source, exc))

    async def _cf(
        self,
        lb_user: str,
        acc: UserAccounts,
        cfg: RunConfig,
        cursor: CfCursor,
        quota: int,
        selection: Selection,
        started: RecommendationRunStarted,
    ) -> tuple[list[Recommendation], CfCursor, bool, bool]:
        token = acc.listenbrainz_token
        page = await self.source.cf_page(lb_user, cursor.offset, cfg.cf_page_size, token)
        if page is None:  # 204: no recommendations for this user yet; not an error
            return [], cursor, True, False
        head = page.items[0] if page.offset == 0 and page.items else None
        if head is None and not (page.model_id or page.last_updated):
            head_page = page if page.offset == 0 else await self.source.cf_page(lb_user, 0, 1, token)
            head = head_page.items[0] if head_page and head_page.items else None
        marker = marker_of(page, head)
        retrain = detect_retrain(cursor, marker)
        if retrain is not None:
            await self.publisher.publish(
                ModelRetrained.caused_by(
                    started,
                    marker_kind=retrain.new.kind,
                    old_marker=retrain.old.value if retrain.old else None,
                    new_marker=retrain.new.value,
                    old_offset=retrain.old_offset,
                )
            )
            log.info(
                "CF model of %s retrained (%s → %s): back to offset 0 from %d",
                lb_user,
                retrain.old.value if retrain.old else None,
                retrain.new.value,
                retrain.old_offset,
            )
            cursor = replace(cursor, offset=0)
            if page.offset != 0:
                refetched = await self.source.cf_page(lb_user, 0, cfg.cf_page_size, token)
                page = refetched if refetched is not None else CfPage(offset=0, items=[])
        cursor = replace(cursor, marker=marker or cursor.marker)
        chosen: list[Recommendation] = []
        pages = 1
        while True:
            known = await self._known(lb_user, [i.recording_mbid for i in page.items]) if quota else set()
            consumed = 0
            for item in page.items:
                if len(chosen) >= quota:
                    break
                consumed += 1
                if selection.admit(item.recording_mbid, item.recording_mbid in known):
                    chosen.append(item)
            cursor = replace(cursor, offset=page.offset + consumed)
            at_end = len(page.items) < cfg.cf_page_size or (page.total is not None and cursor.offset >= page.total)
            if len(chosen) >= quota:
                return chosen, cursor, False, retrain is not None
            if at_end:
                return chosen, cursor, True, retrain is not None
            if pages >= cfg.cf_max_pages:
                return chosen, cursor, False, retrain is not None
            next_page = await self.source.cf_page(lb_user, cursor.offset, cfg.cf_page_size, token)
            pages += 1
            if next_page is None or not next_page.items:
                return chosen, cursor, True, retrain is not None
            page = next_page

    async def _radio(
        self, lb_user: str, acc: UserAccounts, cfg: RunConfig, cursor: CfCursor, quota: int, selection: Selection
    ) -> tuple[list[Recommendation], CfCursor]:
        token = acc.listenbrainz_token
        artists = await self.source.top_artists(lb_user, cfg.radio_top_artists, cfg.radio_stats_range, token)
        if not artists:
            log.info("no top artists for %s yet: no radio seeds", lb_user)
            return [], cursor
        start = cursor.radio_rotation % len(artists)
        count = min(cfg.radio_seed_artists, len(artists))
        seeds = [artists[(start + i) % len(artists)] for i in range(count)]
        tracks = await self.source.lb_radio(radio_prompt(seeds), cfg.radio_mode, token)
        known = await self._known(lb_user, [t.recording_mbid for t in tracks])
        chosen: list[Recommendation] = []
        for track in tracks:
            if len(chosen) >= quota:
                break
            if selection.admit(track.recording_mbid, track.recording_mbid in known):
                chosen.append(track)
        return chosen, replace(cursor, radio_rotation=(start + count) % len(artists))
