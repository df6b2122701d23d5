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
from itertools import zip_longest

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
    GENERATED_KINDS,
    CfCursor,
    CfPage,
    Recommendation,
    Selection,
    detect_retrain,
    marker_of,
    split_run3,
)
from ..health import SourceHealth
from ..ports import (
    CursorStore,
    DiscoveryGate,
    EventPublisher,
    GeneratedPlaylist,
    KnownRecordings,
    RecommendationSource,
    SeedArtist,
)
from .failures import poll_failed
from .feedback import FeedbackReader
from .screening import Screen, Screener

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
            cf, cursor, exhausted, retrained = await self._cf(
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
                playlists, spare = await self._playlists(lb_user, acc, pl_quota, selection, screen)
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
                radio, cursor = await self._radio(lb_user, acc, cfg, cursor, radio_target, selection, screen)
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

    async def _cf(
        self,
        lb_user: str,
        acc: UserAccounts,
        cfg: RunConfig,
        cursor: CfCursor,
        quota: int,
        selection: Selection,
        started: RecommendationRunStarted,
        screen: Screen,
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
        deferred: list[Recommendation] = []  # by hated artists: taken only once CF has nothing else in this run
        pages = 1
        while True:
            items = await self.screener.named(page.items, token, screen)
            picked, consumed, held = await self.screener.pick(
                lb_user, items, quota - len(chosen), selection, screen, CandidateSource.CF, fill_deferred=False
            )
            chosen += picked
            deferred += held
            cursor = replace(cursor, offset=page.offset + consumed)
            at_end = len(page.items) < cfg.cf_page_size or (page.total is not None and cursor.offset >= page.total)
            if len(chosen) >= quota:
                return chosen, cursor, False, retrain is not None
            if at_end or pages >= cfg.cf_max_pages:
                break
            next_page = await self.source.cf_page(lb_user, cursor.offset, cfg.cf_page_size, token)
            pages += 1
            if next_page is None or not next_page.items:
                at_end = True
                break
            page = next_page
        for item in deferred:
            if len(chosen) >= quota:
                break
            if selection.admit(item.recording_mbid, False):
                chosen.append(item)
        return chosen, cursor, at_end and len(chosen) < quota, retrain is not None

    async def _radio(
        self,
        lb_user: str,
        acc: UserAccounts,
        cfg: RunConfig,
        cursor: CfCursor,
        quota: int,
        selection: Selection,
        screen: Screen,
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
        chosen, _, _ = await self.screener.pick(lb_user, tracks, quota, selection, screen, CandidateSource.RADIO)
        return chosen, replace(cursor, radio_rotation=(start + count) % len(artists))

    async def _playlists(
        self, lb_user: str, acc: UserAccounts, quota: int, selection: Selection, screen: Screen
    ) -> tuple[list[Recommendation], list[Recommendation]]:
        """The newest Weekly Exploration and Weekly Jams, taken in turns; returns the pick and the tracks left over
        (for a short radio)."""
        token = acc.listenbrainz_token
        newest: dict[str, GeneratedPlaylist] = {}
        for playlist in await self.source.generated_playlists(lb_user, token):  # newest first
            newest.setdefault(playlist.kind, playlist)
        if not newest:
            log.info("no generated playlists for %s yet", lb_user)
            return [], []
        lists = [
            await self.source.playlist_tracks(newest[kind].mbid, token) for kind in GENERATED_KINDS if kind in newest
        ]
        merged = [t for group in zip_longest(*lists) for t in group if t is not None]
        merged = [replace(t, position=i) for i, t in enumerate(merged)]
        chosen, consumed, deferred = await self.screener.pick(
            lb_user, merged, quota, selection, screen, CandidateSource.PLAYLISTS
        )
        return chosen, merged[consumed:] + deferred
