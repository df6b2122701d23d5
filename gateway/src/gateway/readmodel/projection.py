"""Fold pipeline events into the read model, one transaction per event with its stream sequence.

A sequence at or below the stream's checkpoint was applied already and is skipped, so a redelivery or a replay from
the start of the streams changes nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from contracts import ingest, library
from contracts.base import Message

from ..discoveries.fold import fold_discovery
from .rows import CheckpointRow, FeedHorizonRow, FeedRow, RetrainRow, RunRow, TimelineRow, TrackRow
from .steps import step_for
from .words import describe, run_outcome

__all__ = ["FeedItem", "Projection"]


@dataclass(frozen=True)
class FeedItem:
    """One applied event as the live feed shows it."""

    stream: str
    seq: int
    subject: str
    user: str | None
    track_id: str | None
    state: str | None
    stage: str | None
    at: datetime
    summary: str
    discovery_users: frozenset[str] = field(default_factory=frozenset)
    """Users whose discoveries this event changed (their Navidrome playlists follow)."""


def _letters(current: str | None, *, add: list[int] | None = None, remove: list[int] | None = None) -> str | None:
    ids = {int(x) for x in (current or "").split(",") if x}
    ids |= set(add or [])
    ids -= set(remove or [])
    return ",".join(map(str, sorted(ids))) or None


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC)


class Projection:
    def __init__(self, engine: Engine, feed_keep: int = 10_000) -> None:
        self._engine = engine
        # one writer at a time: the five consumers apply from worker threads, and two folds of the same track read
        # before either commits would lose one update (SQLite's own locking only orders the commits)
        self._write = threading.Lock()
        self._feed_keep = feed_keep
        # pruning every apply would cost a query per event; every tenth of the kept size bounds the feed at 1.1x
        self._prune_every = max(1, min(1000, feed_keep // 10))
        self._since_prune = 0

    def checkpoints(self) -> dict[str, int]:
        with Session(self._engine) as s:
            return {row.stream: row.seq for row in s.exec(select(CheckpointRow)).all()}

    def apply(self, event: Message, stream: str, seq: int) -> FeedItem | None:
        """Apply one event; None when this sequence was applied before."""
        with self._write, Session(self._engine) as s:
            item = self._apply_in(s, event, stream, seq)
            s.commit()
            self._since_prune += 1
            if self._since_prune >= self._prune_every:
                self._since_prune = 0
                self._prune_feed()
            return item

    def _prune_feed(self) -> int:
        """Keep the newest `feed_keep` feed rows (by insertion), noting per stream the newest sequence dropped."""
        with self._engine.begin() as conn:
            # rowid follows insertion, so the cut and the delete walk the table's own b-tree, no index needed
            cut = conn.execute(
                text("SELECT rowid FROM view_feed ORDER BY rowid DESC LIMIT 1 OFFSET :keep"),
                {"keep": self._feed_keep},
            ).scalar()
            if cut is None:
                return 0
            dropped = conn.execute(
                text("SELECT stream, MAX(seq) FROM view_feed WHERE rowid <= :cut GROUP BY stream"), {"cut": cut}
            ).all()
            for stream, seq in dropped:
                conn.execute(
                    text(
                        "INSERT INTO view_feed_horizon (stream, seq) VALUES (:stream, :seq) "
                        "ON CONFLICT (stream) DO UPDATE SET seq = MAX(seq, excluded.seq)"
                    ),
                    {"stream": stream, "seq": seq},
                )
            deleted = conn.execute(text("DELETE FROM view_feed WHERE rowid <= :cut"), {"cut": cut}).rowcount
        return int(deleted)

    def apply_many(self, events: Sequence[tuple[Message, str, int]]) -> int:
        """Apply events in their order in one transaction (a replay); returns how many were not applied before."""
        applied = 0
        with self._write, Session(self._engine) as s:
            for event, stream, seq in events:
                applied += self._apply_in(s, event, stream, seq) is not None
            s.commit()
        self._prune_feed()
        return applied

    def _apply_in(self, s: Session, event: Message, stream: str, seq: int) -> FeedItem | None:
        mark = s.get(CheckpointRow, stream) or CheckpointRow(stream=stream, seq=0)
        if seq <= mark.seq and self._seen(s, stream, seq):
            return None
        item = self._fold(s, event, stream, seq)
        mark.seq = max(mark.seq, seq)
        s.add(mark)
        s.add(
            FeedRow(
                stream=stream,
                seq=seq,
                subject=event.subject,
                user=event.user,
                track_id=item.track_id,
                at=_naive(event.occurred_at),
                summary=item.summary,
            )
        )
        return item

    @staticmethod
    def _seen(s: Session, stream: str, seq: int) -> bool:
        """Applied before. A consumer's workers finish in any order, so a sequence below the checkpoint may still be
        new: every applied event has its feed row (written in the same transaction), and those pruned from the feed
        are at or below its horizon."""
        if s.get(FeedRow, (stream, seq)) is not None:
            return True
        horizon = s.get(FeedHorizonRow, stream)
        return horizon is not None and seq <= horizon.seq

    def _fold(self, s: Session, event: Message, stream: str, seq: int) -> FeedItem:
        at = _naive(event.occurred_at)
        self._runs(s, event, at)
        found = fold_discovery(s, event, stream, seq)
        if found is not None:
            return FeedItem(
                stream,
                seq,
                event.subject,
                event.user,
                None,
                None,
                None,
                event.occurred_at,
                found.summary,
                frozenset(found.users),
            )
        step = step_for(event)
        base = FeedItem(stream, seq, event.subject, event.user, None, None, None, event.occurred_at, describe(event))
        if step is None:
            return base
        track = s.get(TrackRow, str(event.correlation_id))
        if track is None and isinstance(event, library.TrackRemoved):
            track = s.exec(select(TrackRow).where(col(TrackRow.library_track_id) == event.track_id)).first()
        if track is None:
            if step.state is None or not step.begins:  # a detail about a journey this model never saw begin
                return base
            track = TrackRow(
                id=str(event.correlation_id), user=event.user, state=step.state, created_at=at, updated_at=at
            )
        for name, value in step.facts.items():
            if name == "dead_letter":
                track.dead_letters = _letters(track.dead_letters, add=[value] if value is not None else [])
            elif name == "redriven":
                track.dead_letters = _letters(track.dead_letters, remove=value)
            elif value is not None:
                setattr(track, name, value)
        # streams are consumed independently, so a later fact can arrive first: the newest event decides the state
        if step.state is not None and at >= track.updated_at:
            track.state = step.state
            track.failure_reason = step.failure
        if track.user is None:
            track.user = event.user
        track.updated_at = max(track.updated_at, at)
        s.add(track)
        s.add(
            TimelineRow(
                track_id=track.id,
                stream=stream,
                seq=seq,
                subject=event.subject,
                stage=step.stage,
                at=at,
                detail=step.detail,
            )
        )
        label = " - ".join(x for x in (track.artist, track.title) if x) or track.recording_mbid or track.id
        said = step.failure or step.says
        summary = f"{step.stage}: {label}" + (f" — {said}" if said else "")
        return FeedItem(
            stream, seq, event.subject, event.user, track.id, track.state, step.stage, event.occurred_at, summary
        )

    @staticmethod
    def _runs(s: Session, event: Message, at: datetime) -> None:
        match event:
            case ingest.RecommendationRunStarted() as e:
                run = s.get(RunRow, str(e.run_id)) or RunRow(run_id=str(e.run_id))
                run.user, run.trigger, run.run_size, run.cf_ratio, run.started_at = (
                    e.user,
                    e.trigger,
                    e.run_size,
                    e.cf_ratio,
                    at,
                )
                s.add(run)
            case ingest.RecommendationRunCompleted() as e:
                run = s.get(RunRow, str(e.run_id)) or RunRow(run_id=str(e.run_id), user=e.user)
                run.completed_at, run.cf_count, run.radio_count = at, e.cf_count, e.radio_count
                run.duplicates_skipped, run.cf_exhausted = e.duplicates_skipped, e.cf_exhausted
                run.outcome, run.reason = run_outcome(e)
                s.add(run)
            case ingest.RecommendationRunFailed() as e:
                run = s.get(RunRow, str(e.run_id)) or RunRow(run_id=str(e.run_id), user=e.user, trigger=e.trigger)
                run.started_at = run.started_at or at
                if run.outcome is None or run.outcome == "failed":  # a later attempt that completed has the last word
                    run.completed_at, run.outcome, run.reason = at, "failed", e.detail
                s.add(run)
            case ingest.CandidateDiscovered() as e:
                run = s.get(RunRow, str(e.run_id)) or RunRow(run_id=str(e.run_id), user=e.user)
                run.candidates += 1
                s.add(run)
            case ingest.ModelRetrained() as e:
                s.add(
                    RetrainRow(
                        user=e.user,
                        marker_kind=e.marker_kind,
                        old_marker=e.old_marker,
                        new_marker=e.new_marker,
                        old_offset=e.old_offset,
                        at=at,
                    )
                )
