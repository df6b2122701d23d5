"""Fold the discovery lifecycle's events into the Discoveries read model (rows.py).

Called by the read model's projection inside its transaction, so a redelivered or replayed sequence is skipped there.
Each kind of fact keeps only its newest occurrence, by (event time, stream sequence): applied in any order, the same
events leave the same rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from contracts import discovery as d
from contracts.base import Message

from .rows import DiscoveryFeedbackRow, DiscoveryPauseRow, DiscoveryPickRow, DiscoveryTrackRow

__all__ = ["Touched", "fold_discovery", "naive"]


def naive(at: datetime) -> datetime:
    """In UTC, as the database gives it back (so stored and new times compare)."""
    return at.astimezone(UTC)


class Touched:
    """What a folded event changed: whose discoveries, and the feed's line for it."""

    def __init__(self, users: set[str], summary: str, track_id: str | None = None) -> None:
        self.users, self.summary, self.track_id = users, summary, track_id


def _newer(at: datetime, seq: int, old_at: datetime | None, old_seq: int) -> bool:
    return old_at is None or (at, seq) > (old_at, old_seq)


def _track(s: Session, track_id: str, mbid: str | None) -> DiscoveryTrackRow:
    row = s.get(DiscoveryTrackRow, track_id) or DiscoveryTrackRow(track_id=track_id)
    row.recording_mbid = row.recording_mbid or mbid
    return row


def _owners(s: Session, track_id: str) -> set[str]:
    return set(s.exec(select(DiscoveryPickRow.user).where(col(DiscoveryPickRow.track_id) == track_id)).all())


def fold_discovery(s: Session, event: Message, stream: str, seq: int) -> Touched | None:
    """Apply one event if it is about discoveries; None when it is not."""
    at = naive(event.occurred_at)
    match event:
        case d.DiscoveryAdded() as e:
            user = e.user or ""
            pick = s.get(DiscoveryPickRow, (user, e.week, e.track_id))
            if pick is None or seq >= pick.seq:
                # told again (a track recommended again in the same week): the newest telling wins
                s.merge(
                    DiscoveryPickRow(
                        user=user,
                        week=e.week,
                        track_id=e.track_id,
                        recording_mbid=str(e.recording_mbid),
                        source=str(e.source),
                        position=e.position,
                        artist=e.artist,
                        title=e.title,
                        album=e.album,
                        path=e.path,
                        size_bytes=e.size_bytes,
                        added_at=at,
                        expires_at=naive(e.expires_at) if e.expires_at else None,
                        seq=seq,
                    )
                )
            s.add(_track(s, e.track_id, str(e.recording_mbid)))
            return Touched({user}, f"Discovery for {user}: {e.artist} - {e.title} ({e.week})", e.track_id)
        case d.DiscoveryKept() as e:
            row = _track(s, e.track_id, str(e.recording_mbid))
            if _newer(at, seq, row.kept_at, row.kept_seq):
                row.kept_at, row.kept_seq, row.kept_reason, row.kept_detail = at, seq, str(e.reason), e.detail
                row.kept_by = e.user
            s.add(row)
            return Touched(_owners(s, e.track_id), f"Discovery kept ({e.reason}): {e.detail}".rstrip(": "), e.track_id)
        case d.DiscoveryExpired() as e:
            row = _track(s, e.track_id, str(e.recording_mbid))
            if _newer(at, seq, row.expired_at, row.expired_seq):
                row.expired_at, row.expired_seq = at, seq
                row.expired_reason, row.expired_detail = str(e.reason), e.detail
                row.purge_at, row.trash_path = naive(e.purge_at), e.trash_path
            s.add(row)
            return Touched(
                _owners(s, e.track_id) | set(e.users), f"Discovery expired ({e.reason}) to the trash", e.track_id
            )
        case d.DiscoveryHated() as e:
            row = _track(s, e.track_id, str(e.recording_mbid))
            haters = set(filter(None, (row.hated_by or "").split(","))) | ({e.user} if e.user else set())
            row.hated_by = ",".join(sorted(haters)) or None
            s.add(row)
            return Touched(_owners(s, e.track_id), f"Discovery hated by {e.user} ({e.how})", e.track_id)
        case d.DiscoveryRestored() as e:
            row = _track(s, e.track_id, str(e.recording_mbid))
            if _newer(at, seq, row.restored_at, row.restored_seq):
                row.restored_at, row.restored_seq = at, seq
            s.add(row)
            return Touched(_owners(s, e.track_id), "Discovery restored from the trash", e.track_id)
        case d.DiscoveryPurged() as e:
            row = _track(s, e.track_id, str(e.recording_mbid))
            if _newer(at, seq, row.purged_at, row.purged_seq):
                row.purged_at, row.purged_seq = at, seq
            s.add(row)
            return Touched(_owners(s, e.track_id), "Discovery purged: the trash was emptied of it", e.track_id)
        case d.DiscoveryRunsPaused() | d.DiscoveryRunsResumed() as e:
            pause = s.get(DiscoveryPauseRow, "runs")
            if pause is None or _newer(at, seq, pause.at, pause.seq):
                paused = isinstance(e, d.DiscoveryRunsPaused)
                s.merge(
                    DiscoveryPauseRow(
                        key="runs",
                        paused=paused,
                        reason=e.reason if isinstance(e, d.DiscoveryRunsPaused) else "",
                        used_bytes=e.used_bytes,
                        budget_bytes=e.budget_bytes,
                        at=at,
                        seq=seq,
                    )
                )
            words = "paused: " + e.reason if isinstance(e, d.DiscoveryRunsPaused) else "resumed"
            return Touched(set(), f"Recommendation runs {words}")
        case d.FeedbackSent() | d.FeedbackReceived() | d.CandidateExcluded() as e:
            if isinstance(e, d.CandidateExcluded):
                kind, score, cause, artist = "excluded", None, e.reason, e.artist
                said = f"Left out of a run for {e.user}: {e.artist or e.recording_mbid} ({e.reason})"
            elif isinstance(e, d.FeedbackSent):
                kind, score, cause, artist = "sent", e.score, e.cause, None
                said = f"ListenBrainz feedback {e.score:+d} sent for {e.user} ({e.cause})"
            else:
                kind, score, cause, artist = "received", e.score, "", None
                said = f"ListenBrainz feedback {e.score:+d} read back for {e.user}"
            s.add(
                DiscoveryFeedbackRow(
                    stream=stream,
                    seq=seq,
                    user=e.user,
                    kind=kind,
                    recording_mbid=str(e.recording_mbid),
                    score=score,
                    cause=cause,
                    artist=artist,
                    at=at,
                )
            )
            return Touched({e.user} if e.user else set(), said)
    return None
