"""One play, one row: the merge rule on real SQLite, in every arrival order."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.base import Message
from contracts.common import MatchMethod
from contracts.ingest import ListenRecorded
from contracts.resolve import ListenMatched, ListenUnmatched, ListenUnmatchedReason
from gateway.history.fold import HistoryFold
from gateway.history.merge import MergeConfig, Sighting, cluster, track_key
from gateway.history.replayable import HistoryProjection
from gateway.history.schema import connect

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MBID = uuid.UUID("2f2f0b8e-7f2b-4a4a-9d6e-1c3a5b7d9e01")


def listen(source: str, at: datetime, **extra: Any) -> ListenRecorded:
    fields: dict[str, Any] = {
        "user": "alice",
        "source": source,
        "listened_at": at,
        "artist": "Cold Harbour",
        "title": "Northern Light",
        "duration_ms": 200_000,
        "occurred_at": at,
    }
    return ListenRecorded(**(fields | extra))


def one_play() -> list[ListenRecorded]:
    return [
        listen("listenbrainz", T0, recording_mbid=MBID, source_ids={"recording_msid": "m-1"}),
        listen("lastfm", T0 + timedelta(seconds=4), artist="Cold Harbour", title="Northern Light (Remastered 2011)"),
        listen("subsonic", T0 - timedelta(seconds=2), source_ids={"song_id": "s-1", "client": "Feishin"}),
    ]


def fold_in(path: Path, events: list[Message]) -> dict[str, list[tuple[Any, ...]]]:
    fold = HistoryFold(connect(path), MergeConfig())
    for seq, event in enumerate(events, 1):
        stream = "INGEST" if isinstance(event, ListenRecorded) else "RESOLVE"
        fold.apply([(event, stream, seq)])
    fold.conn.close()
    dump = HistoryProjection().dump(path)
    dump.pop("history_checkpoints")
    return dump


def test_one_play_from_three_sources_is_one_row_in_every_order(tmp_path: Path) -> None:
    dumps = []
    for n, order in enumerate(itertools.permutations(one_play())):
        dumps.append(fold_in(tmp_path / f"h{n}.db", list(order)))
    assert all(d == dumps[0] for d in dumps)
    plays = dumps[0]["history_plays"]
    assert len(plays) == 1
    row = dict(zip(_play_columns(tmp_path / "h0.db"), plays[0], strict=True))
    assert row["sources"] == "lastfm,listenbrainz,subsonic"
    assert row["recording_mbid"] == str(MBID) and row["match_method"] == "mbid"
    assert row["client"] == "Feishin" and row["played_at"] == (T0 - timedelta(seconds=2)).isoformat()


def test_a_real_repeat_stays_two_rows_in_every_order(tmp_path: Path) -> None:
    # the second play starts when the first (3:20) ended: Last.fm saw both, ListenBrainz the second only
    second = T0 + timedelta(seconds=200)
    events = [
        listen("lastfm", T0 + timedelta(seconds=3)),
        listen("lastfm", second + timedelta(seconds=3)),
        listen("listenbrainz", second),
        listen("subsonic", T0),
    ]
    dumps = [fold_in(tmp_path / f"r{n}.db", list(o)) for n, o in enumerate(itertools.permutations(events))]
    assert all(d == dumps[0] for d in dumps)
    sources = sorted(r[_play_columns(tmp_path / "r0.db").index("sources")] for r in dumps[0]["history_plays"])
    assert sources == ["lastfm,listenbrainz", "lastfm,subsonic"]


def test_a_match_arriving_before_its_play_still_lands(tmp_path: Path) -> None:
    lastfm = listen("lastfm", T0)
    matched = ListenMatched(user="alice", listen_id=lastfm.event_id, recording_mbid=MBID, method=MatchMethod.FUZZY)
    missed = ListenUnmatched(user="alice", listen_id=lastfm.event_id, reason=ListenUnmatchedReason.NOT_FOUND)
    orders = [[lastfm, missed, matched], [matched, lastfm, missed], [missed, matched, lastfm]]
    dumps = [fold_in(tmp_path / f"m{n}.db", o) for n, o in enumerate(orders)]
    assert all(d == dumps[0] for d in dumps)
    row = dict(zip(_play_columns(tmp_path / "m0.db"), dumps[0]["history_plays"][0], strict=True))
    assert (row["match_state"], row["recording_mbid"], row["match_method"]) == ("matched", str(MBID), "fuzzy")


def test_short_tracks_and_spotify_end_times() -> None:
    cfg = MergeConfig(tolerance_s=60)
    short = [Sighting("a", "lastfm", 0, 40), Sighting("b", "subsonic", 25, 40)]
    assert len(cluster(short, cfg)) == 2  # 25 s apart is past half of a 40 s track
    spotify_end = Sighting.start_of("spotify", 200, 200)
    assert len(cluster([Sighting("a", "listenbrainz", 1, 200), Sighting("b", "spotify", spotify_end, 200)], cfg)) == 1
    assert track_key("The Beatles", "Let It Be (Remastered 2009)") == track_key("Beatles", "Let It Be")
    assert track_key("Beatles", "Let It Be (Live)") != track_key("Beatles", "Let It Be")


def _play_columns(path: Path) -> list[str]:
    conn = connect(path)
    try:
        return [r[1] for r in conn.execute("PRAGMA table_info(history_plays)")]
    finally:
        conn.close()


def test_history_pages_read_by_index_without_sorting(tmp_path: Path) -> None:
    conn = connect(tmp_path / "plan.db")
    page = "ORDER BY played_ts DESC, play_id DESC LIMIT 51"
    for where, args in [
        ("WHERE user = ?", ("a",)),
        ("WHERE user = ? AND (played_ts < ? OR (played_ts = ? AND play_id < ?))", ("a", 1, 1, "x")),
        ("WHERE user = ? AND played_ts >= ? AND played_ts < ?", ("a", 1, 2)),
        ("", ()),
    ]:
        plan = " ".join(
            r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN SELECT * FROM history_plays {where} {page}", args)
        )
        assert "USING INDEX ix_history_plays" in plan and "TEMP B-TREE" not in plan, plan
    conn.close()


def test_retries_wait_longer_after_each_miss_and_the_due_ones_come_first(tmp_path: Path) -> None:
    from gateway.history.live import Rematcher, retry_delay_s

    events: list[Message] = []
    now = T0.timestamp()
    for n, attempts in enumerate([1, 2, 3, 5]):
        play = listen("lastfm", T0 + timedelta(hours=n), title=f"Demo {n}")
        events.append(play)
        for attempt in range(1, attempts + 1):
            at = T0 - timedelta(hours=3)  # every miss three hours ago
            events.append(
                ListenUnmatched(
                    user="alice",
                    listen_id=play.event_id,
                    reason=ListenUnmatchedReason.NOT_FOUND,
                    attempt=attempt,
                    occurred_at=at,
                )
            )
    fold_in(tmp_path / "r.db", events)
    rematcher = Rematcher(connect(tmp_path / "r.db"), publish=None, base_s=3600, cap_s=7 * 86400)  # type: ignore[arg-type]
    due = rematcher.due(now)
    # 1 miss waits 1 h, 2 misses 4 h, 3 misses 16 h: only the first is due three hours on
    assert [(d.title, d.attempt) for d in due] == [("Demo 0", 2)]
    assert retry_delay_s(5, 3600, 7 * 86400) == 7 * 86400
    assert [d.title for d in rematcher.due(now + 7 * 86400)] == ["Demo 0", "Demo 1", "Demo 2", "Demo 3"]
