"""Reading the Discoveries read model: one user's weeks, picks, trash and what is in force, as the page and the API
show them. A track's state is the newest of its facts (rows.py); whether it was played comes from the history
store's plays of its recording by that user since it arrived."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from contracts.discovery import DiscoveryRules
from contracts.livesettings import PipelineSettings, UserAccounts

from .rows import DiscoveryFeedbackRow, DiscoveryPauseRow, DiscoveryPickRow, DiscoveryTrackRow, NavidromeSongRow

__all__ = [
    "DEFAULT_RULES",
    "SOURCE_LABELS",
    "Pick",
    "rules_in_force",
    "state_of",
    "user_discoveries",
    "user_picks",
]

SOURCE_LABELS = {
    "cf": "ListenBrainz recommendations (CF)",
    "radio": "LB Radio",
    "playlists": "ListenBrainz playlists (Weekly Exploration, Weekly Jams)",
    "manual": "asked for by hand",
}
DEFAULT_RULES = DiscoveryRules(
    enabled=True, keep_plays=1, keep_rating=3, keep_for="21d", trash_for="7d", disk_budget=None
)
"""library-svc's defaults (contracts.discovery); a user's own rules, then the pipeline's, win over them."""
_KEEP_WORDS = {
    "played": "played",
    "starred": "starred",
    "rated": "rated",
    "loved": "loved on ListenBrainz",
    "in_playlist": "added to a playlist",
    "kept_in_ui": "kept on this page",
}


def rules_in_force(pipeline: PipelineSettings | None, accounts: UserAccounts | None) -> DiscoveryRules:
    out = DEFAULT_RULES.model_dump()
    for layer in (pipeline.discovery if pipeline else None, accounts.discovery if accounts else None):
        if layer is not None:
            out |= {k: v for k, v in layer.model_dump().items() if v is not None}
    return DiscoveryRules.model_validate(out)


def _utc(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat() if at else None


def state_of(row: DiscoveryTrackRow | None) -> tuple[str, datetime | None]:
    """`active`, `kept`, `expired`, `restored` or `purged`: the newest fact wins, by time then sequence."""
    if row is None:
        return "active", None
    facts = [
        (row.kept_at, row.kept_seq, "kept"),
        (row.expired_at, row.expired_seq, "expired"),
        (row.restored_at, row.restored_seq, "restored"),
        (row.purged_at, row.purged_seq, "purged"),
    ]
    known = [(at, seq, name) for at, seq, name in facts if at is not None]
    if not known:
        return "active", None
    at, _, name = max(known, key=lambda f: (f[0], f[1]))
    return name, at


@dataclass
class Pick:
    track_id: str
    recording_mbid: str
    week: str
    position: int
    artist: str
    title: str
    album: str | None
    source: str
    source_label: str
    added_at: str | None
    expires_at: str | None
    state: str
    """`active`, `kept`, `expired` (in the trash), `restored` or `purged`."""
    state_at: str | None
    reason: str | None
    """Why it was kept or expired (`played`, `unkept`, `hated`…)."""
    detail: str
    """The same in words."""
    purge_at: str | None
    plays: int
    played: bool
    hated: bool
    size_bytes: int
    cover_url: str
    stream_url: str
    navidrome_song_id: str | None = None
    weeks: list[str] = field(default_factory=list)


def _pick(p: DiscoveryPickRow, t: DiscoveryTrackRow | None, plays: int, haters: set[str], song: str | None) -> Pick:
    state, at = state_of(t)
    reason, detail = None, ""
    if t is not None and state == "kept":
        reason = t.kept_reason
        detail = t.kept_detail or _KEEP_WORDS.get(t.kept_reason or "", t.kept_reason or "")
    elif t is not None and state in ("expired", "purged"):
        reason, detail = t.expired_reason, t.expired_detail
    elif state == "restored":
        reason, detail = "restored", "restored from the trash"
    return Pick(
        track_id=p.track_id,
        recording_mbid=p.recording_mbid,
        week=p.week,
        position=p.position,
        artist=p.artist,
        title=p.title,
        album=p.album,
        source=p.source,
        source_label=SOURCE_LABELS.get(p.source, p.source),
        added_at=_utc(p.added_at),
        expires_at=_utc(p.expires_at) if state == "active" else None,
        state=state,
        state_at=_utc(at),
        reason=reason,
        detail=detail,
        purge_at=_utc(t.purge_at) if t is not None and state == "expired" else None,
        plays=plays,
        played=plays > 0 or (t is not None and t.kept_reason == "played"),
        hated=p.user in haters,
        size_bytes=p.size_bytes,
        cover_url="/api/library/art/" + quote(song or p.track_id, safe=""),
        stream_url="/api/library/stream/" + quote(song or p.track_id, safe=""),
        navidrome_song_id=song,
    )


def _plays(history: sqlite3.Connection | None, user: str, picks: list[DiscoveryPickRow]) -> dict[str, int]:
    """Plays of each pick's recording by the user since it arrived (the history store; none when it has none)."""
    if history is None or not picks:
        return {}
    first: dict[str, float] = {}
    for p in picks:
        since = p.added_at.timestamp()
        first[p.recording_mbid] = min(first.get(p.recording_mbid, since), since)
    out: dict[str, int] = {}
    mbids = list(first)
    for at in range(0, len(mbids), 500):
        chunk = mbids[at : at + 500]
        marks = ",".join("?" * len(chunk))
        for mbid, ts in history.execute(
            f"SELECT recording_mbid, played_ts FROM history_plays WHERE user = ? AND recording_mbid IN ({marks})",
            [user, *chunk],
        ).fetchall():
            if ts >= first[mbid] - 60:  # a play reported a moment before the import finished still counts
                out[mbid] = out.get(mbid, 0) + 1
    return out


def user_picks(engine: Engine, user: str, history: sqlite3.Connection | None = None) -> list[Pick]:
    """Every pick of a user, newest week first, each week in its order of arrival."""
    with Session(engine) as s:
        picks = list(s.exec(select(DiscoveryPickRow).where(col(DiscoveryPickRow.user) == user)).all())
        ids = list({p.track_id for p in picks})
        tracks = {
            t.track_id: t
            for t in s.exec(select(DiscoveryTrackRow).where(col(DiscoveryTrackRow.track_id).in_(ids))).all()
        }
        songs = {
            r.track_id: r.song_id
            for r in s.exec(select(NavidromeSongRow).where(col(NavidromeSongRow.track_id).in_(ids))).all()
        }
    plays = _plays(history, user, picks)
    weeks: dict[str, list[str]] = defaultdict(list)
    # library-svc lets a track live `keep_for` after it last joined a weekly playlist: every week shows that time
    latest: dict[str, datetime] = {}
    for p in picks:
        weeks[p.track_id].append(p.week)
        if p.expires_at is not None and (p.track_id not in latest or p.expires_at > latest[p.track_id]):
            latest[p.track_id] = p.expires_at
    out = []
    for p in sorted(picks, key=lambda p: (_desc(p.week), p.position, p.added_at, p.track_id)):
        t = tracks.get(p.track_id)
        haters = set(filter(None, (t.hated_by or "").split(","))) if t else set()
        pick = _pick(p, t, plays.get(p.recording_mbid, 0), haters, songs.get(p.track_id))
        pick.weeks = sorted(weeks[p.track_id])
        if pick.expires_at is not None and p.track_id in latest:
            pick.expires_at = _utc(latest[p.track_id])
        out.append(pick)
    return out


def _desc(week: str) -> tuple[int, ...]:
    year, _, number = week.partition("-W")
    return (-int(year) if year.isdigit() else 0, -int(number) if number.isdigit() else 0)


def user_discoveries(
    engine: Engine,
    user: str,
    rules: DiscoveryRules,
    history: sqlite3.Connection | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What the Discoveries page and `GET /api/discoveries` show."""
    now = now or datetime.now(UTC)
    picks = user_picks(engine, user, history)
    weeks: dict[str, list[dict[str, Any]]] = {}
    trash: dict[str, dict[str, Any]] = {}
    for p in picks:
        weeks.setdefault(p.week, []).append(asdict(p))
        if p.state == "expired" and p.track_id not in trash:
            trash[p.track_id] = asdict(p)
    with Session(engine) as s:
        pause = s.get(DiscoveryPauseRow, "runs")
        feedback = s.exec(
            select(DiscoveryFeedbackRow)
            .where(col(DiscoveryFeedbackRow.user) == user)
            .order_by(col(DiscoveryFeedbackRow.at).desc())
            .limit(50)
        ).all()
    return {
        "user": user,
        "now": now.isoformat(),
        "rules": rules.model_dump(),
        "paused": (
            {
                "reason": pause.reason,
                "used_bytes": pause.used_bytes,
                "budget_bytes": pause.budget_bytes,
                "since": _utc(pause.at),
            }
            if pause is not None and pause.paused
            else None
        ),
        "weeks": [{"week": w, "playlist": f"Discoveries {w}", "picks": items} for w, items in weeks.items()],
        "trash": sorted(trash.values(), key=lambda p: p["purge_at"] or ""),
        "feedback": [
            {
                "kind": f.kind,
                "recording_mbid": f.recording_mbid,
                "score": f.score,
                "cause": f.cause,
                "artist": f.artist,
                "at": _utc(f.at),
            }
            for f in feedback
        ],
    }
