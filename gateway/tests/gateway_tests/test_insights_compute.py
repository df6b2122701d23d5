"""Insights on a generated history with known answers: exact at the range's edges, across a daylight-saving change
in the user's zone, equal to a plain recount of the raw plays, with roll-ups that follow every change of a play and
query plans that use the indexes."""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.history.schema import connect
from gateway.insights.compute import compute
from gateway.insights.ranges import buckets, midnight, resolve_range
from tests.support.listening import Play, generate, insert

BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30: the raw-plays path


def _play(i: int, at: datetime, artist: str = "Cold Harbour", title: str = "Tidewater", **kw: Any) -> Play:
    fields: dict[str, Any] = {
        "album": "Fog",
        "duration_ms": 200_000,
        "sources": "listenbrainz",
        "client": None,
        "recording_mbid": None,
    }
    return Play(f"p{i}", "ana", at.timestamp(), artist, title, **(fields | kw))


def _local(*args: int, tz: ZoneInfo = BERLIN) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_a_week_across_the_spring_change_is_exact_at_its_edges(tmp_path: Path) -> None:
    conn = connect(tmp_path / "h.db")
    # the week of Monday 23 March 2026; clocks go from 02:00 to 03:00 on Sunday 29 March in Berlin
    plays = [
        _play(1, _local(2026, 3, 22, 23, 59, 59), artist="Before"),  # one second before the week
        _play(2, _local(2026, 3, 23, 0, 0, 0)),  # its first second
        _play(3, _local(2026, 3, 28, 3, 30)),  # Saturday 03:30 CET (02:30 UTC)
        _play(4, _local(2026, 3, 29, 3, 30)),  # Sunday 03:30 CEST (01:30 UTC)
        _play(5, _local(2026, 3, 29, 23, 59, 59), artist="Last Second"),  # its last second
        _play(6, _local(2026, 3, 30, 0, 0, 0), artist="After"),  # the next week
        _play(7, _local(2026, 3, 17, 10, 0)),  # the previous week
    ]
    insert(conn, plays)
    rng = resolve_range("week", date(2026, 3, 26), BERLIN, None, None, None)
    assert rng.start == _local(2026, 3, 23) and rng.start.astimezone(UTC) == datetime(2026, 3, 22, 23, tzinfo=UTC)
    assert rng.end.astimezone(UTC) == datetime(2026, 3, 29, 22, tzinfo=UTC)  # 167 hours later
    got = compute(conn, "ana", rng)
    assert got["totals"]["plays"] == 4
    assert [(a["artist"], a["plays"]) for a in got["top_artists"]] == [("Cold Harbour", 3), ("Last Second", 1)]
    assert got["top_artists"][0]["listening_ms"] == 600_000
    clock = got["clock"]["plays"]
    assert clock[0][0] == 1  # Monday 00h
    assert clock[5][3] == 1 and clock[6][3] == 1  # 03h on Saturday (CET) and on Sunday (CEST)
    assert clock[6][23] == 1
    assert sum(map(sum, clock)) == 4
    assert [b["plays"] for b in got["trend"]["buckets"]] == [1, 0, 0, 0, 0, 1, 2]
    assert got["trend"]["previous"]["plays"] == 2  # the 17th and the second before Monday
    assert got["trend"]["previous"]["change_pct"] == 100
    assert got["discovery"]["new_artists"] == 1  # "Last Second"; Cold Harbour was heard the week before
    assert got["discovery"]["new_artist_plays"] == 1
    assert got["exact_hours"] is True


def _oracle(plays: list[Play], user: str, lo: float, hi: float, tz: ZoneInfo, edges: list[float]) -> dict[str, Any]:
    """The same answers counted play by play from the raw rows."""
    inside = [p for p in plays if p.user == user and lo <= p.ts < hi]
    artists: Counter[str] = Counter(p.artist for p in inside)
    ms: Counter[str] = Counter()
    for p in inside:
        ms[p.artist] += p.duration_ms or 0
    clock = [[0] * 24 for _ in range(7)]
    for p in inside:
        t = datetime.fromtimestamp(p.ts, UTC).astimezone(tz)
        clock[t.weekday()][t.hour] += 1
    trend = [sum(1 for p in inside if a <= p.ts < b) for a, b in itertools.pairwise(edges)]
    first: dict[str, float] = defaultdict(lambda: float("inf"))
    for p in plays:
        if p.user == user:
            first[p.artist] = min(first[p.artist], p.ts)
    new = {a for a, t in first.items() if lo <= t < hi}
    top = sorted(artists.items(), key=lambda kv: (-kv[1], -ms[kv[0]], kv[0]))[:10]
    sources: Counter[str] = Counter()
    for p in inside:
        for s in p.sources.split(","):
            sources[s] += 1
    tops: dict[str, list[tuple[Any, ...]]] = {}
    for name, key in (
        ("tracks", lambda p: (p.track_key, p.artist, p.title)),
        ("albums", lambda p: (p.artist, p.album)),
    ):
        n_by: Counter[Any] = Counter()
        ms_by: Counter[Any] = Counter()
        for p in inside:
            if name == "albums" and not p.album:
                continue
            n_by[key(p)] += 1
            ms_by[key(p)] += p.duration_ms or 0
        ranked = sorted(n_by, key=lambda k: (-n_by[k], -ms_by[k], *k))[:10]
        tops[name] = [(*k[-2:], n_by[k], ms_by[k]) for k in ranked]
    return {
        "plays": len(inside),
        "top": [(a, n, ms[a]) for a, n in top],
        **tops,
        "clock": clock,
        "trend": trend,
        "new": len(new),
        "new_plays": sum(artists[a] for a in new),
        "sources": dict(sources),
    }


@pytest.mark.parametrize("tz", [BERLIN, KOLKATA, ZoneInfo("America/New_York")], ids=lambda z: z.key)
def test_every_range_equals_a_recount_of_the_raw_plays(tmp_path: Path, tz: ZoneInfo) -> None:
    conn = connect(tmp_path / "h.db")
    start, end = datetime(2024, 6, 1, tzinfo=UTC).timestamp(), datetime(2026, 4, 10, tzinfo=UTC).timestamp()
    plays = list(generate("ana", 4000, start, end, seed=3, artists=60))
    plays += list(generate("ben", 500, start, end, seed=4, artists=60))  # someone else's plays never count
    insert(conn, plays)
    today = date(2026, 4, 8)
    cases = [
        resolve_range("week", today, tz, None, None, None),
        resolve_range("month", date(2026, 3, 15), tz, None, None, None),
        resolve_range("year", date(2025, 7, 1), tz, None, None, None),
        resolve_range("all", today, tz, date(2024, 5, 31), None, None, date(2026, 4, 10)),
        resolve_range("custom", today, tz, None, date(2025, 10, 20), date(2025, 11, 3)),  # the autumn change
        # two UTC years less most of a month at the start, plus a half month at the end; and months less days
        resolve_range("custom", today, tz, None, date(2024, 1, 20), date(2026, 1, 16)),
        resolve_range("custom", today, tz, None, date(2025, 2, 12), date(2025, 5, 18)),
    ]
    for rng in cases:
        got = compute(conn, "ana", rng)
        b = buckets(rng.start_day, rng.end_day)
        edges = [midnight(d, tz).timestamp() for d in b.starts]
        want = _oracle(plays, "ana", rng.start.timestamp(), rng.end.timestamp(), tz, edges)
        assert got["totals"]["plays"] == want["plays"], rng
        assert [(a["artist"], a["plays"], a["listening_ms"]) for a in got["top_artists"]] == want["top"], rng
        assert [(t["artist"], t["title"], t["plays"], t["listening_ms"]) for t in got["top_tracks"]] == want["tracks"]
        assert [(a["artist"], a["album"], a["plays"], a["listening_ms"]) for a in got["top_albums"]] == want["albums"]
        assert got["clock"]["plays"] == want["clock"], rng
        assert [x["plays"] for x in got["trend"]["buckets"]] == want["trend"], rng
        assert got["discovery"]["new_artists"] == want["new"], rng
        assert got["discovery"]["new_artist_plays"] == want["new_plays"], rng
        assert {s["source"]: s["plays"] for s in got["sources"]} == want["sources"], rng
        assert got["exact_hours"] is (tz is not KOLKATA)


def test_roll_ups_follow_replaced_and_deleted_plays(tmp_path: Path) -> None:
    conn = connect(tmp_path / "h.db")
    insert(conn, list(generate("ana", 800, 1.7e9, 1.7e9 + 90 * 86400, seed=9, artists=20)))
    # the fold re-clusters: a play replaced under the same id, moved, given another source; another deleted
    insert(conn, [_play(1, datetime.fromtimestamp(1.7e9 + 5 * 86400, UTC), sources="lastfm,subsonic")])
    conn.execute(
        "UPDATE history_plays SET played_ts = played_ts + 86400 * 3, artist = 'Moved' WHERE play_id = ?", ("ana-9-5",)
    )
    conn.execute("DELETE FROM history_plays WHERE play_id IN ('ana-9-7', 'ana-9-8')")
    insert(conn, [_play(1, datetime.fromtimestamp(1.7e9 + 6 * 86400, UTC), artist="Replaced")])
    by_artist = dict(conn.execute("SELECT artist, COUNT(*) FROM history_plays GROUP BY artist").fetchall())
    assert dict(conn.execute("SELECT artist, plays FROM insight_artists").fetchall()) == by_artist
    firsts = dict(conn.execute("SELECT artist, MIN(played_ts) FROM history_plays GROUP BY artist").fetchall())
    assert dict(conn.execute("SELECT artist, first_ts FROM insight_artists").fetchall()) == firsts
    hours = dict(
        conn.execute("SELECT CAST(played_ts / 3600 AS INTEGER), COUNT(*) FROM history_plays GROUP BY 1").fetchall()
    )
    assert dict(conn.execute("SELECT hour, plays FROM insight_hours").fetchall()) == hours
    days = conn.execute(
        "SELECT CAST(played_ts / 86400 AS INTEGER), sources, COALESCE(client, ''), COUNT(*) FROM history_plays "
        "GROUP BY 1, 2, 3"
    ).fetchall()
    assert sorted(conn.execute("SELECT day, sources, client, plays FROM insight_source_days").fetchall()) == sorted(
        days
    )
    _assert_recording_roll_ups(conn)
    # a play matched later (its recording changes under the same id) moves between recordings
    conn.execute("UPDATE history_plays SET recording_mbid = 'later' WHERE play_id = 'ana-9-11'")
    _assert_recording_roll_ups(conn)
    _assert_coarse_roll_ups(conn)
    # the library gives recordings genres, re-imports change them: every play of the recording follows
    recordings = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT recording_mbid FROM history_plays WHERE recording_mbid IS NOT NULL ORDER BY 1"
        )
    ]
    conn.executemany("INSERT INTO history_genres VALUES (?, ?)", [(m, f"G{i % 3}") for i, m in enumerate(recordings)])
    conn.executemany("INSERT INTO history_genres VALUES (?, 'Both')", [(m,) for m in recordings[::2]])
    _assert_coarse_roll_ups(conn)
    conn.execute("DELETE FROM history_genres WHERE genre = 'G1'")
    conn.execute("UPDATE history_genres SET genre = 'Renamed' WHERE genre = 'G2'")
    conn.execute("UPDATE history_plays SET played_ts = played_ts - 86400 * 40 WHERE play_id = 'ana-9-20'")
    conn.execute("DELETE FROM history_plays WHERE play_id = 'ana-9-21'")
    insert(conn, list(generate("ana", 30, 1.7e9 + 20 * 86400, 1.7e9 + 21 * 86400, seed=10, artists=20)))
    assert conn.execute("SELECT COUNT(*) FROM insight_genres WHERE genre = 'Renamed'").fetchone()[0] == 1
    _assert_coarse_roll_ups(conn)
    # a recount of every roll-up from the plays (a bulk load's) finds what the triggers kept
    from gateway.insights.rollup import ROLLUP_TABLES
    from gateway.insights.rollup_store import rebuild

    kept = {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in ROLLUP_TABLES}
    rebuild(conn)
    assert {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in ROLLUP_TABLES} == kept


def _assert_coarse_roll_ups(conn: Any) -> None:
    """The month, year, genre and all-time clock roll-ups equal a recount of the plays."""
    from gateway.insights.rollup import COARSE, _coarse_fill

    for c in COARSE:
        recount = _coarse_fill(c).split(") SELECT ", 1)[1]
        assert sorted(conn.execute(f"SELECT * FROM {c.table}").fetchall()) == sorted(
            conn.execute(f"SELECT {recount}").fetchall()
        ), c.table


def _assert_recording_roll_ups(conn: Any) -> None:
    per_day = conn.execute(
        "SELECT user, CAST(played_ts / 86400 AS INTEGER), recording_mbid, COUNT(*), SUM(COALESCE(duration_ms, 0)) "
        "FROM history_plays WHERE recording_mbid IS NOT NULL GROUP BY 1, 2, 3"
    ).fetchall()
    assert sorted(conn.execute("SELECT * FROM insight_recording_days").fetchall()) == sorted(per_day)
    total = conn.execute(
        "SELECT user, recording_mbid, COUNT(*), SUM(COALESCE(duration_ms, 0)) FROM history_plays "
        "WHERE recording_mbid IS NOT NULL GROUP BY 1, 2"
    ).fetchall()
    assert sorted(conn.execute("SELECT * FROM insight_recordings").fetchall()) == sorted(total)


def test_a_store_from_before_the_recording_roll_ups_gets_them_filled_and_kept(tmp_path: Path) -> None:
    from gateway.insights.rollup import TRIGGERS

    conn = connect(tmp_path / "h.db")
    insert(conn, list(generate("ana", 400, 1.7e9, 1.7e9 + 30 * 86400, seed=4, artists=10)))
    # as such a store was: no recording roll-ups, and triggers that did not know them
    conn.execute("DROP TABLE insight_recording_days")
    conn.execute("DROP TABLE insight_recordings")
    for name, body in TRIGGERS.items():
        conn.execute(f"DROP TRIGGER {name}")
        head, statements = body.split(" BEGIN ", 1)
        kept = ";".join(x for x in statements.removesuffix(" END").split(";") if "insight_recording" not in x)
        conn.execute(f"CREATE TRIGGER {name} {head.replace(', recording_mbid ON', ' ON')} BEGIN {kept} END")
    conn.close()
    conn = connect(tmp_path / "h.db")
    _assert_recording_roll_ups(conn)
    insert(conn, list(generate("ana", 50, 1.71e9, 1.71e9 + 86400, seed=8, artists=10)))
    conn.execute("DELETE FROM history_plays WHERE play_id = 'ana-4-3'")
    _assert_recording_roll_ups(conn)
    assert conn.execute("SELECT SUM(plays) FROM insight_recordings").fetchone()[0] == 449


def test_query_plans_use_the_roll_up_keys_and_the_time_index(tmp_path: Path) -> None:
    conn = connect(tmp_path / "h.db")
    insert(conn, list(generate("ana", 300, 1.7e9, 1.7e9 + 40 * 86400, seed=2)))
    recordings = [r[0] for r in conn.execute("SELECT DISTINCT recording_mbid FROM history_plays")]
    conn.executemany("INSERT INTO history_genres VALUES (?, 'Rock')", [(m,) for m in recordings])
    conn.execute("ANALYZE")
    seen: list[str] = []
    real = conn

    class Spy:
        def execute(self, sql: str, args: Any = ()) -> Any:
            if sql.lstrip().upper().startswith(("SELECT", "WITH")):
                plan = real.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
                seen.extend(f"{row[-1]}" for row in plan)
            return real.execute(sql, args)

    for kind in ("week", "month", "year", "all"):
        # all time from a first play in March: across the summer time, so the all-time clock is read
        compute(Spy(), "ana", resolve_range(kind, date(2023, 11, 20), BERLIN, date(2023, 3, 1), None, None))  # type: ignore[arg-type]
    # a table is only read through its key or an index (the JSON lists of buckets, periods and candidate keys are
    # scanned, and are tiny; so is `u`, the union of a range's pieces, grouped)
    scans = [
        s
        for s in seen
        if s.startswith("SCAN ")
        and "USING" not in s
        and s.split()[1] not in ("b", "p", "u", "c", "bk")
        and "CONSTANT ROW" not in s
        and "json_each" not in s
    ]
    assert not scans, scans
    # a week: whole UTC days of the daily roll-ups, the hour at either end from the raw plays
    assert "SEARCH insight_artist_days USING PRIMARY KEY (user=? AND day>? AND day<?)" in seen
    assert "SEARCH h USING INDEX ix_history_plays_user_time (user=? AND played_ts>? AND played_ts<?)" in seen
    # a month and a year: one bucket of the coarser roll-ups; top tracks and albums best first through the index on
    # plays, then the candidates counted by their key
    for level in ("month", "year"):
        assert f"SEARCH insight_artist_{level}s USING PRIMARY KEY (user=? AND {level}>? AND {level}<?)" in seen
        assert f"SEARCH insight_genre_{level}s USING PRIMARY KEY (user=? AND {level}>? AND {level}<?)" in seen
        for kind in ("track", "album"):
            index = f"ix_insight_{kind}_{level}s_plays"
            assert f"SEARCH insight_{kind}_{level}s USING COVERING INDEX {index} (user=? AND {level}=?)" in seen
        assert f"SEARCH t USING PRIMARY KEY (user=? AND {level}=? AND track_key=?)" in seen
    assert "SEARCH insight_source_months USING PRIMARY KEY (user=? AND month>? AND month<?)" in seen
    assert "SEARCH h USING PRIMARY KEY (user=? AND hour>? AND hour<?)" in seen  # the hourly roll-up, per bucket
    assert "SEARCH h USING PRIMARY KEY (user=? AND day>? AND day<?)" in seen  # the daily one, for trends
    assert "SEARCH h USING PRIMARY KEY (user=? AND month>? AND month<?)" in seen  # the monthly one, for trends
    assert "SEARCH h USING PRIMARY KEY (user=? AND block>? AND block<?)" in seen  # the clock of a year
    assert "SEARCH insight_clock_all USING PRIMARY KEY (user=?)" in seen  # the clock of all time
    assert "SEARCH insight_genres USING PRIMARY KEY (user=?)" in seen  # the genres of all time
    assert "SEARCH a USING COVERING INDEX ix_insight_artists_first (user=? AND first_ts>? AND first_ts<?)" in seen


def test_a_replay_installs_its_roll_ups_and_the_triggers_keep_working(tmp_path: Path) -> None:
    from gateway.history.replayable import HistoryProjection

    built, live = connect(tmp_path / "built.db"), connect(tmp_path / "live.db")
    insert(built, list(generate("ana", 500, 1.7e9, 1.7e9 + 30 * 86400, seed=5, artists=15)))
    insert(live, list(generate("ana", 200, 1.6e9, 1.6e9 + 30 * 86400, seed=6, artists=15)))
    built.close()
    HistoryProjection().install(tmp_path / "built.db", tmp_path / "live.db")
    insert(live, [_play(1, datetime.fromtimestamp(1.7e9 + 86400, UTC), artist="After The Replay")])
    counted = dict(live.execute("SELECT artist, COUNT(*) FROM history_plays GROUP BY artist").fetchall())
    assert sum(counted.values()) == 501
    assert dict(live.execute("SELECT artist, plays FROM insight_artists").fetchall()) == counted
    assert live.execute("SELECT SUM(plays) FROM insight_hours").fetchone()[0] == 501
    assert live.execute("SELECT SUM(plays) FROM insight_days").fetchone()[0] == 501


def _imported(mbid: str, genres: list[str] | None) -> Any:
    from contracts.library import CatalogEntry, TrackImported

    entry = None
    if genres is not None:
        entry = CatalogEntry(
            title="t", artist="a", album="Fog", album_artist="a", genres=genres, added_at=datetime.now(UTC), mtime_ns=0
        )
    return TrackImported(
        recording_mbid=mbid, track_id="t", path="x.flac", size_bytes=1, entry=entry, correlation_id=uuid.uuid4()
    )


def test_top_genres_join_plays_to_the_library_genres_by_recording(tmp_path: Path) -> None:
    from gateway.history.fold import HistoryFold

    conn = connect(tmp_path / "h.db")
    a, b, c = (str(uuid.UUID(int=n)) for n in (1, 2, 3))
    fold = HistoryFold(conn)
    fold.apply(
        [
            (_imported(a, ["Rock", "Post-Punk"]), "LIBRARY", 1),
            (_imported(b, ["Jazz"]), "LIBRARY", 2),
            (_imported(b, ["Jazz", " Soul ", ""]), "LIBRARY", 3),  # a re-import replaces the genres
            (_imported(c, ["Folk"]), "LIBRARY", 4),
            (_imported(c, None), "LIBRARY", 5),  # no catalog entry: says nothing, keeps Folk
        ]
    )
    assert fold.apply([(_imported(a, ["Noise"]), "LIBRARY", 3)]) == 0  # at or below the checkpoint: skipped
    start = _local(2024, 3, 25)  # Monday of the week holding the spring change
    plays = [
        _play(1, start, recording_mbid=a),  # the first second: in
        _play(2, _local(2024, 3, 24, 23, 59, 59), recording_mbid=a),  # the second before: out
        _play(3, _local(2024, 3, 31, 23, 59, 59), recording_mbid=b, duration_ms=100_000),  # the last second: in
        _play(4, _local(2024, 4, 1), recording_mbid=b),  # next week: out
        _play(5, _local(2024, 3, 27, 12), recording_mbid=c, duration_ms=None),
        _play(6, _local(2024, 3, 28, 12), recording_mbid=a),
        _play(7, _local(2024, 3, 28, 13), recording_mbid=None),  # unmatched: no genre
        _play(8, _local(2024, 3, 28, 14), recording_mbid=str(uuid.UUID(int=9))),  # not in the library
    ]
    insert(conn, plays)
    week = compute(conn, "ana", resolve_range("week", date(2024, 3, 27), BERLIN, None, None, None))
    assert [(g["genre"], g["plays"], g["listening_ms"]) for g in week["top_genres"]] == [
        ("Post-Punk", 2, 400_000),
        ("Rock", 2, 400_000),
        ("Jazz", 1, 100_000),
        ("Soul", 1, 100_000),
        ("Folk", 1, 0),
    ]
    everything = compute(conn, "ana", resolve_range("all", date(2024, 4, 2), BERLIN, date(2024, 3, 1), None, None))
    assert [(g["genre"], g["plays"]) for g in everything["top_genres"]] == [
        ("Post-Punk", 3),
        ("Rock", 3),
        ("Jazz", 2),
        ("Soul", 2),
        ("Folk", 1),
    ]
    assert (
        compute(conn, "bo", resolve_range("all", date(2024, 4, 2), BERLIN, date(2024, 3, 1), None, None))["top_genres"]
        == []
    )
    # a re-import after the plays: the genre it drops loses the recording's plays, the kept one keeps them, a new one
    # gets them all, in every range
    fold.apply([(_imported(a, ["Rock", "Shoegaze"]), "LIBRARY", 6)])
    for kind, first in (("week", None), ("all", date(2024, 3, 1))):
        got = compute(conn, "ana", resolve_range(kind, date(2024, 3, 27), BERLIN, first, None, None, date(2024, 4, 1)))
        genres = {g["genre"]: g["plays"] for g in got["top_genres"]}
        assert "Post-Punk" not in genres
        assert genres["Rock"] == genres["Shoegaze"] == (2 if kind == "week" else 3)
