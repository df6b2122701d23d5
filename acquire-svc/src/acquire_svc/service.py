"""The use case: a resolved track becomes one validated, fully tagged file in staging, announced once.

Order of work, each step skipped when its result is already there (so a redelivery resumes where it stopped):
owned? → gate → staged file that validates? → download + validate candidates → stage 1 → stage 2 → TrackTagged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID, uuid5

from contracts.acquire import (
    AcquisitionFailed,
    AcquisitionFailureReason,
    AcquisitionSkipped,
    CandidateRejected,
    RejectionReason,
    SkipReason,
    TrackDownloaded,
    TrackTagged,
    TrackValidated,
)
from contracts.common import CandidateSource
from contracts.resolve import TrackResolved
from infra.http import ExternalError
from infra.runtime import UpstreamFault

from .domain.gate import Decision, GateState
from .domain.tagplan import Enrichment, core_tags
from .domain.validation import Rules, Verdict, judge
from .ports import (
    EXTENSION,
    AudioProbe,
    Backend,
    Candidate,
    CandidateRefused,
    CoverFetcher,
    Gate,
    NegativeCache,
    OwnedIndex,
    Probed,
    Publish,
    StagingArea,
    TagCheckFailed,
    TagWriter,
    Wanted,
)

__all__ = ["AcquireService", "BackendsUnavailable", "Checkpoint", "Options"]

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], Awaitable[None]]
"""Hook called with a point's name: `download`, `between_stages`, `before_ack`."""


async def _no_checkpoint(point: str) -> None:
    """Production passes no hook: the use case goes straight on."""


class BackendsUnavailable(UpstreamFault):
    """A backend faulted and nothing else was found: redeliver later rather than fail the track."""


@dataclass
class Options:
    max_attempts: int
    backends: Callable[[], list[str]]
    """Backend names in order; read per message so a live settings change applies to the next track."""
    album_mbid: Callable[[], bool]


@dataclass
class _Accepted:
    path: Path
    fmt: str


def _event_id(cause: UUID, step: str) -> UUID:
    """Deterministic ids: a redelivery publishes the same ids, and the server's dedup keeps one copy."""
    return uuid5(cause, step)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class AcquireService:
    def __init__(
        self,
        *,
        gate: Gate,
        negative: NegativeCache,
        owned: OwnedIndex,
        backends: Mapping[str, Backend],
        staging: StagingArea,
        tagger: TagWriter,
        probe: AudioProbe,
        covers: CoverFetcher,
        rules: Rules,
        options: Options,
        publish: Publish,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.gate = gate
        self.negative = negative
        self.owned = owned
        self.backends = backends
        self.staging = staging
        self.tagger = tagger
        self.probe = probe
        self.covers = covers
        self.rules = rules
        self.options = options
        self.publish = publish
        self.checkpoint = checkpoint or _no_checkpoint
        """Called at named points of the use case; a test-only entry point uses it to be killed there."""
        self.last_tagged_at: float | None = None

    async def handle(self, ev: TrackResolved, *, last_try: bool) -> None:
        track = ev.track
        mbid = track.recording_mbid
        if await self.owned.owns(mbid):
            entry_now = await self.gate.get(mbid)
            if entry_now is not None and entry_now.owner_event_id == ev.event_id:
                log.info("%s: this message's track is in the library now; nothing to repeat", mbid)
                return  # a late redelivery of the journey that brought it in: not a skip
            await self.publish(
                AcquisitionSkipped.caused_by(
                    ev, event_id=_event_id(ev.event_id, "skipped"), recording_mbid=mbid, reason=SkipReason.ALREADY_OWNED
                )
            )
            return
        decision, entry = await self.gate.enter(
            mbid,
            ev.event_id,
            ev.correlation_id,
            manual=ev.origin is CandidateSource.MANUAL,
            staged=self.staging.find(mbid) is not None,
        )
        if decision is Decision.SKIP:
            log.info(
                "%s already in the gate (%s, journey %s): starting nothing", mbid, entry.state, entry.correlation_id
            )
            await self.publish(
                AcquisitionSkipped.caused_by(
                    ev,
                    event_id=_event_id(ev.event_id, "skipped"),
                    recording_mbid=mbid,
                    reason=SkipReason.ALREADY_IN_FLIGHT,
                    existing_correlation_id=entry.correlation_id,
                )
            )
            return
        if entry.owner_event_id == ev.event_id and entry.state is not GateState.IN_FLIGHT:
            # a redelivery after this message's outcome was published (the gate is marked after the event): done.
            # Without this, a file already moved into the library by library-svc would be downloaded again.
            log.info("%s: this message already ended as %s; nothing to repeat", mbid, entry.state.value)
            return
        try:
            await self._acquire_and_tag(ev, last_try=last_try)
        except BackendsUnavailable:
            raise
        except TagCheckFailed as exc:
            if not last_try:  # a read-back mismatch may be a disk hiccup: try again from the staged file
                raise
            await self.publish(
                AcquisitionFailed.caused_by(
                    ev,
                    event_id=_event_id(ev.event_id, "failed"),
                    recording_mbid=mbid,
                    reason=AcquisitionFailureReason.TAGGING_FAILED,
                    detail=str(exc)[:1000],
                )
            )
            await self.gate.mark(mbid, GateState.FAILED, AcquisitionFailureReason.TAGGING_FAILED.value)
        except Exception as exc:
            if last_try:  # the message is about to be dead-lettered: leave the gate open to a manual retry
                await self.gate.mark(mbid, GateState.FAILED, f"{type(exc).__name__}: {exc}")
            raise

    async def _acquire_and_tag(self, ev: TrackResolved, *, last_try: bool) -> None:
        track = ev.track
        mbid = track.recording_mbid
        want = Wanted(
            recording_mbid=mbid,
            title=track.title,
            artist=track.artist,
            artists=[c.name for c in track.artist_credit],
            album=track.album,
            duration_s=track.duration_ms / 1000 if track.duration_ms else None,
            source_url=ev.source_url,
        )
        accepted = self._staged(want)
        if accepted is None:
            accepted = await self._download(ev, want, last_try=last_try)
            if accepted is None:
                return
        plan = core_tags(track, album_mbid=self.options.album_mbid())
        path, fmt = accepted.path, accepted.fmt
        if not await asyncio.to_thread(self.tagger.stage1_done, path, fmt, plan):
            await asyncio.to_thread(self.tagger.stage1, path, fmt, plan)
            await self.checkpoint("between_stages")
        else:
            log.info("%s: stage 1 already complete", path.name)
        if await asyncio.to_thread(self.tagger.stage2_done, path, fmt, list(track.genres), track.cover is not None):
            log.info("%s: stage 2 already complete", path.name)
        else:
            cover = await self.covers.fetch(track.cover) if track.cover else None
            enrichment = Enrichment(
                genres=list(track.genres),
                cover=cover[0] if cover else None,
                cover_mime=cover[1] if cover else "image/jpeg",
            )
            await asyncio.to_thread(self.tagger.stage2, path, fmt, plan, enrichment)
        await self.publish(
            TrackTagged.caused_by(
                ev,
                event_id=_event_id(ev.event_id, "tagged"),
                track=track,
                staging_path=str(path),
                format=fmt,
                size_bytes=path.stat().st_size,
                sha256=await asyncio.to_thread(_sha256, path),
                origin=ev.origin,
            )
        )
        await self.gate.mark(mbid, GateState.TAGGED)
        self.last_tagged_at = asyncio.get_running_loop().time()
        await self.checkpoint("before_ack")

    def _staged(self, want: Wanted) -> _Accepted | None:
        """A staging file that still validates means no new download."""
        path = self.staging.find(want.recording_mbid)
        if path is None:
            return None
        probed = self.probe(path)
        verdict = self._judge(probed, want, want.title)
        if probed is None or probed.fmt is None or not verdict.ok:
            log.warning("staged %s no longer validates (%s): downloading again", path.name, verdict.detail)
            path.unlink(missing_ok=True)
            return None
        log.info("%s already staged and valid: no new download", path.name)
        return _Accepted(path, probed.fmt)

    def _judge(self, probed: Probed | None, want: Wanted, candidate_title: str) -> Verdict:
        return judge(
            probed.facts if probed else None,
            wanted_title=want.title,
            wanted_artists=[want.artist, *want.artists],
            expected_s=want.duration_s,
            candidate_title=candidate_title,
            rules=self.rules,
        )

    async def _download(self, ev: TrackResolved, want: Wanted, *, last_try: bool) -> _Accepted | None:
        rejected: list[CandidateRejected] = []
        faults: list[str] = []
        attempts = 0

        async def progress(done: int) -> None:
            # the runtime keeps the message alive while this works; progress only marks the test-only checkpoint
            if done:
                await self.checkpoint("download")

        names = [n for n in self.options.backends() if n in self.backends]
        for name in names:
            backend = self.backends[name]
            try:
                candidates = await backend.search(want)
            except (ExternalError, TimeoutError, OSError) as exc:
                log.warning("backend %s search failed: %s", name, exc)
                faults.append(f"{name}: {exc}")
                continue
            for cand in candidates:
                if attempts >= self.options.max_attempts:
                    break
                if await self.negative.contains(cand.backend, cand.candidate_id):
                    log.info("skipping %s %s: in the negative cache", cand.backend, cand.candidate_id)
                    continue
                attempts += 1
                try:
                    outcome = await self._try(ev, want, backend, cand, progress)
                except (ExternalError, TimeoutError, OSError) as exc:
                    log.warning("backend %s fetch of %s failed: %s", name, cand.candidate_id, exc)
                    faults.append(f"{name}: {exc}")
                    continue
                if isinstance(outcome, CandidateRejected):
                    rejected.append(outcome)
                    continue
                return outcome
        if faults and not last_try:
            raise BackendsUnavailable("; ".join(faults)[:500])
        if faults and not rejected:
            reason = AcquisitionFailureReason.BACKENDS_UNAVAILABLE
        elif rejected:
            reason = AcquisitionFailureReason.ATTEMPTS_EXHAUSTED
        else:
            reason = AcquisitionFailureReason.NO_CANDIDATES
        detail = f"{attempts} candidate(s) tried with backends {names}" + (f"; faults: {faults}" if faults else "")
        await self.publish(
            AcquisitionFailed.caused_by(
                ev,
                event_id=_event_id(ev.event_id, "failed"),
                recording_mbid=want.recording_mbid,
                reason=reason,
                detail=detail[:1000],
                rejected=rejected,
            )
        )
        await self.gate.mark(want.recording_mbid, GateState.FAILED, reason.value)
        return None

    async def _try(
        self,
        ev: TrackResolved,
        want: Wanted,
        backend: Backend,
        cand: Candidate,
        progress: Callable[[int], Awaitable[None]],
    ) -> _Accepted | CandidateRejected:
        step = f"{cand.backend}:{cand.candidate_id}"
        with self.staging.work(want.recording_mbid) as work:
            try:
                file = await backend.fetch(cand, work, progress)
            except CandidateRefused as refused:
                return await self._reject(ev, want, cand, Verdict(refused.reason, refused.detail))
            await self.publish(
                TrackDownloaded.caused_by(
                    ev,
                    event_id=_event_id(ev.event_id, f"downloaded:{step}"),
                    recording_mbid=want.recording_mbid,
                    backend=cand.backend,
                    candidate_id=cand.candidate_id,
                    staging_path=str(file),
                    size_bytes=file.stat().st_size,
                )
            )
            probed = await asyncio.to_thread(self.probe, file)
            verdict = self._judge(probed, want, cand.title)
            if verdict.ok and (probed is None or probed.fmt is None):
                verdict = Verdict(RejectionReason.CODEC_NOT_ALLOWED, "no tagger for this container")
            if not verdict.ok or probed is None or probed.fmt is None:
                return await self._reject(ev, want, cand, verdict)
            facts = probed.facts
            await self.publish(
                TrackValidated.caused_by(
                    ev,
                    event_id=_event_id(ev.event_id, f"validated:{step}"),
                    recording_mbid=want.recording_mbid,
                    backend=cand.backend,
                    candidate_id=cand.candidate_id,
                    codec=facts.codec,
                    bitrate_kbps=facts.bitrate_kbps,
                    duration_ms=round(facts.duration_s * 1000),
                )
            )
            staged = self.staging.accept(want.recording_mbid, file, EXTENSION[probed.fmt])
        await backend.taken(cand)
        return _Accepted(staged, probed.fmt)

    async def _reject(self, ev: TrackResolved, want: Wanted, cand: Candidate, verdict: Verdict) -> CandidateRejected:
        assert verdict.reason is not None
        log.info("rejected %s %s: %s %s", cand.backend, cand.candidate_id, verdict.reason.value, verdict.detail)
        await self.negative.add(cand.backend, cand.candidate_id, want.recording_mbid, verdict.reason, verdict.detail)
        event = CandidateRejected.caused_by(
            ev,
            event_id=_event_id(ev.event_id, f"rejected:{cand.backend}:{cand.candidate_id}"),
            recording_mbid=want.recording_mbid,
            backend=cand.backend,
            candidate_id=cand.candidate_id,
            reason=verdict.reason,
            detail=verdict.detail[:500],
        )
        await self.publish(event)
        return event
