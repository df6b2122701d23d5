"""Reads of the read model, always scoped to what the asking person may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, or_
from sqlmodel import Session, col, select

from .rows import FeedHorizonRow, FeedRow, RetrainRow, RunRow, TimelineRow, TrackRow

__all__ = ["Page", "Scope", "View", "letter_ids"]

PAGE_SIZE = 50


@dataclass(frozen=True)
class Scope:
    """An administrator sees everything; anyone else their own journeys and the system-wide ones."""

    username: str
    is_admin: bool

    def allows(self, user: str | None) -> bool:
        return self.is_admin or user is None or user == self.username


@dataclass(frozen=True)
class Page:
    items: list[TrackRow]
    total: int
    page: int
    pages: int


def letter_ids(row: TrackRow) -> list[int]:
    """The journey's dead letters still to re-drive."""
    return [int(x) for x in (row.dead_letters or "").split(",") if x]


def _visible(stmt, scope: Scope, column):  # type: ignore[no-untyped-def]
    if scope.is_admin:
        return stmt
    return stmt.where(or_(column.is_(None), column == scope.username))


class View:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tracks(self, scope: Scope, *, state: str | None = None, q: str | None = None, page: int = 1) -> Page:
        with Session(self._engine) as s:
            stmt = _visible(select(TrackRow), scope, col(TrackRow.user))
            if state:
                stmt = stmt.where(col(TrackRow.state) == state)
            if q:
                like = f"%{q.strip()}%"
                stmt = stmt.where(
                    or_(
                        col(TrackRow.title).ilike(like),
                        col(TrackRow.artist).ilike(like),
                        col(TrackRow.album).ilike(like),
                        col(TrackRow.recording_mbid) == q.strip().lower(),
                    )
                )
            total = s.exec(select(func.count()).select_from(stmt.subquery())).one()
            rows = s.exec(
                stmt.order_by(col(TrackRow.updated_at).desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
            ).all()
            return Page(list(rows), total, page, max(1, -(-total // PAGE_SIZE)))

    def track(self, scope: Scope, track_id: str) -> TrackRow | None:
        with Session(self._engine) as s:
            row = s.get(TrackRow, track_id)
            return row if row is not None and scope.allows(row.user) else None

    def gate_key(self, track_id: str) -> str | None:
        with Session(self._engine) as s:
            row = s.get(TrackRow, track_id)
            return row.gate_key if row else None

    def timelines(self, track_ids: list[str]) -> dict[str, list[TimelineRow]]:
        out: dict[str, list[TimelineRow]] = {tid: [] for tid in track_ids}
        if not track_ids:
            return out
        with Session(self._engine) as s:
            rows = s.exec(
                select(TimelineRow)
                .where(col(TimelineRow.track_id).in_(track_ids))
                .order_by(col(TimelineRow.at), col(TimelineRow.id))
            ).all()
        for row in rows:
            out[row.track_id].append(row)
        return out

    def counts(self, scope: Scope) -> dict[str, int]:
        with Session(self._engine) as s:
            stmt = _visible(select(TrackRow.state, func.count()), scope, col(TrackRow.user)).group_by(
                col(TrackRow.state)
            )
            return {state: n for state, n in s.exec(stmt).all()}

    def waiting_on(self) -> dict[str, int]:
        """Journeys retrying because of an external service, by that service (for the health banner)."""
        with Session(self._engine) as s:
            stmt = (
                select(TrackRow.upstream, func.count())
                .where(col(TrackRow.state) == "retrying", col(TrackRow.upstream).is_not(None))
                .group_by(col(TrackRow.upstream))
            )
            return {str(upstream): n for upstream, n in s.exec(stmt).all()}

    def runs(self, scope: Scope, limit: int = 20) -> list[RunRow]:
        with Session(self._engine) as s:
            stmt = _visible(select(RunRow), scope, col(RunRow.user))
            return list(s.exec(stmt.order_by(col(RunRow.started_at).desc()).limit(limit)).all())

    def candidates(self, scope: Scope, run_ids: list[str]) -> list[TrackRow]:
        if not run_ids:
            return []
        with Session(self._engine) as s:
            stmt = _visible(select(TrackRow), scope, col(TrackRow.user)).where(col(TrackRow.run_id).in_(run_ids))
            return list(s.exec(stmt.order_by(col(TrackRow.created_at).desc()).limit(500)).all())

    def retrains(self, scope: Scope, limit: int = 20) -> list[RetrainRow]:
        with Session(self._engine) as s:
            stmt = _visible(select(RetrainRow), scope, col(RetrainRow.user))
            return list(s.exec(stmt.order_by(col(RetrainRow.at).desc()).limit(limit)).all())

    def library(self, scope: Scope, *, artist: str | None = None, album: str | None = None) -> list[TrackRow]:
        """Tracks in the library, as the pipeline put them there (imported and not removed)."""
        with Session(self._engine) as s:
            stmt = _visible(select(TrackRow), scope, col(TrackRow.user)).where(col(TrackRow.state) == "imported")
            if artist:
                stmt = stmt.where(col(TrackRow.album_artist) == artist)
            if album:
                stmt = stmt.where(col(TrackRow.album) == album)
            stmt = stmt.order_by(col(TrackRow.album_artist), col(TrackRow.album), col(TrackRow.title))
            return list(s.exec(stmt.limit(2000)).all())

    def imported_matching(
        self, scope: Scope, *, library_ids: list[str], mbids: list[str], paths: list[str]
    ) -> list[TrackRow]:
        """Journeys that brought one of these library tracks in (by library id, recording MBID or path).

        Only the OR of the three indexed lookups goes to SQL, so SQLite answers it by one index lookup per value;
        with the state and user conditions beside it, it would walk every imported track by the state index."""
        conds = []
        if library_ids:
            conds.append(col(TrackRow.library_track_id).in_(library_ids))
        if mbids:
            conds.append(col(TrackRow.recording_mbid).in_([m.lower() for m in mbids]))
        if paths:
            conds.append(col(TrackRow.path).in_(paths))
        if not conds:
            return []
        with Session(self._engine) as s:
            rows = s.exec(select(TrackRow).where(or_(*conds))).all()
        return [r for r in rows if r.state == "imported" and scope.allows(r.user)]

    def feed_horizon(self) -> dict[str, int]:
        """Per stream, the newest sequence pruned from the feed (see Projection's feed_keep)."""
        with Session(self._engine) as s:
            return {row.stream: row.seq for row in s.exec(select(FeedHorizonRow)).all()}

    def feed_after(self, scope: Scope, cursor: dict[str, int], limit: int = 500) -> list[FeedRow]:
        """Events after the cursor's sequence of each stream, oldest first (for a Last-Event-ID resume)."""
        with Session(self._engine) as s:
            stmt = _visible(select(FeedRow), scope, col(FeedRow.user))
            conds = [(col(FeedRow.stream) == stream) & (col(FeedRow.seq) > seq) for stream, seq in cursor.items()]
            if not conds:
                return []
            rows = s.exec(stmt.where(or_(*conds)).order_by(col(FeedRow.at), col(FeedRow.seq)).limit(limit)).all()
            return list(rows)
