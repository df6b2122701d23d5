"""Roll-ups of the listening history, kept in step with `history_plays` by SQLite triggers.

Every insert, replace or delete of a play adds or takes its count and listening time from these tables inside the
statement that changed the play, so they commit in the same transaction as the history rows (the fold's batch, a
replay's build) and can never disagree with them. Buckets are UTC: a whole UTC hour (`hour` = unix seconds / 3600)
or a whole UTC day (`day` = unix seconds / 86400). Insights turn them into the asking user's local days, weeks and
clock hours at read time, and read the few raw plays at the edges of a range that do not fill a whole bucket.

- `insight_hours`, `insight_days`: plays and milliseconds per user and UTC hour / day (trends, the listening clock);
- `insight_clock`: plays per user, block of four weeks (`hour / 672`) and UTC hour of the week (`hour % 168`,
  counted from Thursday 00:00, the epoch's weekday): the listening clock of long ranges;
- `insight_artist_days`, `insight_track_days`, `insight_album_days`, `insight_source_days`: per user, UTC day and
  artist / track / album / (sources, client) (the top lists and sources of a range);
- `insight_artists`, `insight_tracks`, `insight_albums`, `insight_sources`: all-time totals per user, and each
  artist's first play
  (discovery: which artists were first heard in a range);
- `insight_recording_days`, `insight_recordings`: per user (and UTC day) and recording MBID, joined to the library's
  genres (`history_genres`) for the top genres. A store made before they existed gets them filled from its plays
  when it is opened (`install`), in the transaction that makes them and renews the triggers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["COARSE", "ROLLUP_TABLES", "TRIGGERS"]

_FINE_TABLES = (
    "insight_hours",
    "insight_days",
    "insight_clock",
    "insight_artist_days",
    "insight_track_days",
    "insight_album_days",
    "insight_source_days",
    "insight_artists",
    "insight_tracks",
    "insight_albums",
    "insight_sources",
    "insight_recording_days",
    "insight_recordings",
)

_RECORDINGS = (
    "CREATE TABLE IF NOT EXISTS insight_recording_days (user TEXT NOT NULL, day INTEGER NOT NULL, "
    "recording_mbid TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL, "
    "PRIMARY KEY (user, day, recording_mbid)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS insight_recordings (user TEXT NOT NULL, recording_mbid TEXT NOT NULL, "
    "plays INTEGER NOT NULL, ms INTEGER NOT NULL, PRIMARY KEY (user, recording_mbid)) WITHOUT ROWID",
)

_TABLES = """
CREATE TABLE IF NOT EXISTS insight_hours (
    user TEXT NOT NULL, hour INTEGER NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, hour)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_clock (
    user TEXT NOT NULL, block INTEGER NOT NULL, how INTEGER NOT NULL, plays INTEGER NOT NULL,
    PRIMARY KEY (user, block, how)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_artist_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, artist TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day, artist)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_track_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, track_key TEXT NOT NULL, artist TEXT NOT NULL, title TEXT NOT NULL,
    plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day, track_key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_album_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, artist TEXT NOT NULL, album TEXT NOT NULL,
    plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, day, artist, album)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_source_days (
    user TEXT NOT NULL, day INTEGER NOT NULL, sources TEXT NOT NULL, client TEXT NOT NULL, plays INTEGER NOT NULL,
    PRIMARY KEY (user, day, sources, client)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insight_artists (
    user TEXT NOT NULL, artist TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL, first_ts REAL NOT NULL,
    PRIMARY KEY (user, artist)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_insight_artists_first ON insight_artists (user, first_ts);
CREATE INDEX IF NOT EXISTS ix_insight_artists_plays ON insight_artists (user, plays);
CREATE TABLE IF NOT EXISTS insight_tracks (
    user TEXT NOT NULL, track_key TEXT NOT NULL, artist TEXT NOT NULL, title TEXT NOT NULL,
    plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, track_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_insight_tracks_plays ON insight_tracks (user, plays);
CREATE TABLE IF NOT EXISTS insight_albums (
    user TEXT NOT NULL, artist TEXT NOT NULL, album TEXT NOT NULL, plays INTEGER NOT NULL, ms INTEGER NOT NULL,
    PRIMARY KEY (user, artist, album)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ix_insight_albums_plays ON insight_albums (user, plays);
CREATE TABLE IF NOT EXISTS insight_sources (
    user TEXT NOT NULL, sources TEXT NOT NULL, client TEXT NOT NULL, plays INTEGER NOT NULL,
    PRIMARY KEY (user, sources, client)) WITHOUT ROWID;
-- the hit rate: plays of one recording within days of its import
CREATE INDEX IF NOT EXISTS ix_history_plays_recording_time ON history_plays (user, recording_mbid, played_ts);
-- an artist's first play is found again when the play that was first goes away
CREATE INDEX IF NOT EXISTS ix_history_plays_artist ON history_plays (user, artist, played_ts);
-- a genre given to a recording counts its plays (every user's)
CREATE INDEX IF NOT EXISTS ix_history_plays_recording_only ON history_plays (recording_mbid);
"""


# Coarser roll-ups, added later: a month (`month` = UTC year * 12 + month - 1) or a UTC year per user and key, so a
# month or a year of top lists reads one bucket (the tracks' and albums' top entries through an index on plays)
# instead of a row per key and day; `insight_genre_*` count the plays per library genre (a play of a recording with
# two genres counts for both), kept in step with `history_genres` too; `insight_clock_all` is the all-time listening
# clock per UTC hour of the week. Each is (table, key columns with the expression of a play `r` giving them, whether
# it counts milliseconds, the plays it counts, display columns kept from the latest play, indexed by plays).


def _month(ts: str) -> str:
    return (
        f"(CAST(strftime('%Y', {ts}, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', {ts}, 'unixepoch') AS INTEGER)"
        " - 1)"
    )


def _year(ts: str) -> str:
    return f"CAST(strftime('%Y', {ts}, 'unixepoch') AS INTEGER)"


@dataclass(frozen=True)
class _Coarse:
    table: str
    keys: tuple[tuple[str, str, str], ...]
    """(column, type, expression of the play `{r}`)"""
    ms: bool = True
    where: str = "1"
    display: tuple[tuple[str, str], ...] = ()
    by_plays: bool = False
    genre: bool = False
    """one row per genre of the play's recording (`g`, history_genres)"""

    def key_expr(self, r: str) -> list[str]:
        return [e.format(r=r) for _c, _t, e in self.keys]


_M = ("month", "INTEGER", _month("{r}.played_ts"))
_Y = ("year", "INTEGER", _year("{r}.played_ts"))
_ARTIST = ("artist", "TEXT", "{r}.artist")
_ALBUM = (("artist", "TEXT", "{r}.artist"), ("album", "TEXT", "{r}.album"))
_TRACK = ("track_key", "TEXT", "{r}.track_key")
_TITLES = (("artist", "{r}.artist"), ("title", "{r}.title"))
_SOURCE = (("sources", "TEXT", "{r}.sources"), ("client", "TEXT", "COALESCE({r}.client, '')"))
_GENRE = ("genre", "TEXT", "g.genre")
_ALBUM_WHERE = "COALESCE({r}.album, '') != ''"

COARSE = (
    _Coarse("insight_months", (_M,)),
    _Coarse("insight_clock_all", (("how", "INTEGER", "CAST({r}.played_ts / 3600 AS INTEGER) % 168"),), ms=False),
    _Coarse("insight_artist_months", (_M, _ARTIST)),
    _Coarse("insight_artist_years", (_Y, _ARTIST)),
    _Coarse("insight_track_months", (_M, _TRACK), display=_TITLES, by_plays=True),
    _Coarse("insight_track_years", (_Y, _TRACK), display=_TITLES, by_plays=True),
    _Coarse("insight_album_months", (_M, *_ALBUM), where=_ALBUM_WHERE, by_plays=True),
    _Coarse("insight_album_years", (_Y, *_ALBUM), where=_ALBUM_WHERE, by_plays=True),
    _Coarse("insight_source_months", (_M, *_SOURCE), ms=False),
    _Coarse("insight_genre_months", (_M, _GENRE), genre=True),
    _Coarse("insight_genre_years", (_Y, _GENRE), genre=True),
    _Coarse("insight_genres", (_GENRE,), genre=True),
)

ROLLUP_TABLES = (*_FINE_TABLES, *(c.table for c in COARSE))


def _coarse_create(c: _Coarse) -> list[str]:
    cols = [f"{name} {kind} NOT NULL" for name, kind, _e in c.keys]
    cols += [f"{name} TEXT NOT NULL" for name, _e in c.display]
    cols += ["plays INTEGER NOT NULL"] + (["ms INTEGER NOT NULL"] if c.ms else [])
    pk = ", ".join(name for name, _k, _e in c.keys)
    out = [
        f"CREATE TABLE IF NOT EXISTS {c.table} (user TEXT NOT NULL, {', '.join(cols)}, PRIMARY KEY (user, {pk}))"
        " WITHOUT ROWID"
    ]
    if c.by_plays:
        out.append(f"CREATE INDEX IF NOT EXISTS ix_{c.table}_plays ON {c.table} (user, {c.keys[0][0]}, plays)")
    return out


def _coarse_columns(c: _Coarse) -> str:
    names = [name for name, _k, _e in c.keys] + [name for name, _e in c.display]
    return ", ".join(["user", *names, "plays", *(["ms"] if c.ms else [])])


def _coarse_fill(c: _Coarse) -> str:
    """The table counted again from every play (a store from before it existed)."""
    keys = c.key_expr("h")
    display = [f"MAX({e.format(r='h')})" for _n, e in c.display]
    ms = ", SUM(COALESCE(h.duration_ms, 0))" if c.ms else ""
    join = " JOIN history_genres g ON g.recording_mbid = h.recording_mbid" if c.genre else ""
    group = ", ".join(str(n) for n in range(1, len(keys) + 2))
    return (
        f"INSERT INTO {c.table} ({_coarse_columns(c)}) SELECT h.user, {', '.join([*keys, *display])}, COUNT(*){ms} "
        f"FROM history_plays h{join} WHERE {c.where.format(r='h')} GROUP BY {group}"
    )


def _coarse_add(c: _Coarse, r: str) -> str:
    keys = c.key_expr(r)
    display = [e.format(r=r) for _n, e in c.display]
    ms = f", COALESCE({r}.duration_ms, 0)" if c.ms else ""
    source = f" FROM history_genres g WHERE g.recording_mbid = {r}.recording_mbid AND" if c.genre else " WHERE"
    sets = ["plays = plays + 1", *(["ms = ms + excluded.ms"] if c.ms else [])]
    sets += [f"{n} = excluded.{n}" for n, _e in c.display]
    return (
        f"INSERT INTO {c.table} ({_coarse_columns(c)}) SELECT {r}.user, {', '.join([*keys, *display])}, 1{ms}"
        f"{source} {c.where.format(r=r)} ON CONFLICT DO UPDATE SET {', '.join(sets)};"
    )


def _coarse_take(c: _Coarse, r: str) -> str:
    match = [f"user = {r}.user"]
    for (name, _k, _e), expr in zip(c.keys, c.key_expr(r), strict=True):
        if expr == "g.genre":
            match.append(f"genre IN (SELECT genre FROM history_genres WHERE recording_mbid = {r}.recording_mbid)")
        else:
            match.append(f"{name} = {expr}")
    where = " AND ".join(match)
    sets = "plays = plays - 1" + (f", ms = ms - COALESCE({r}.duration_ms, 0)" if c.ms else "")
    return f"UPDATE {c.table} SET {sets} WHERE {where}; DELETE FROM {c.table} WHERE {where} AND plays <= 0;"


def _genre_change(r: str, sign: str) -> str:
    """A genre given to (or taken from) a recording: every play of the recording counts for it (or no longer)."""
    out = []
    for c in COARSE:
        if not c.genre:
            continue
        names = [name for name, _k, _e in c.keys if name != "genre"]
        exprs = [e.format(r="h") for name, _k, e in c.keys if name != "genre"]
        renamed = ", ".join(["h.user AS user", *(f"{e} AS {n}" for n, e in zip(names, exprs, strict=True))])
        group = ", ".join(str(n) for n in range(1, len(exprs) + 2))
        counted = (
            f"SELECT {renamed}, COUNT(*) AS n, SUM(COALESCE(h.duration_ms, 0)) AS m FROM history_plays h "
            f"INDEXED BY ix_history_plays_recording_only WHERE h.recording_mbid = {r}.recording_mbid GROUP BY {group}"
        )
        if sign == "+":
            cols = ", ".join(["user", *names, "genre", "plays", "ms"])
            picks = ", ".join(["user", *names, f"{r}.genre", "n", "m"])
            out.append(
                f"INSERT INTO {c.table} ({cols}) SELECT {picks} FROM ({counted}) WHERE true "
                "ON CONFLICT DO UPDATE SET plays = plays + excluded.plays, ms = ms + excluded.ms;"
            )
        else:
            t = c.table
            joined = " AND ".join(
                [f"{t}.user = s.user", *(f"{t}.{n} = s.{n}" for n in names), f"{t}.genre = {r}.genre"]
            )
            out.append(f"UPDATE {t} SET plays = plays - s.n, ms = ms - s.m FROM ({counted}) AS s WHERE {joined};")
            out.append(
                f"DELETE FROM {c.table} WHERE genre = {r}.genre AND plays <= 0 AND user IN "
                f"(SELECT DISTINCT user FROM history_plays INDEXED BY ix_history_plays_recording_only "
                f"WHERE recording_mbid = {r}.recording_mbid);"
            )
    return "\n    ".join(out)


_D = ("day", "INTEGER", "CAST({r}.played_ts / 86400 AS INTEGER)")
_H = "CAST({r}.played_ts / 3600 AS INTEGER)"
_REC = ("recording_mbid", "TEXT", "{r}.recording_mbid")
_REC_WHERE = "{r}.recording_mbid IS NOT NULL"
# the first roll-ups, as recounts (`rebuild`); their triggers are written out in _add and _take
_FINE = (
    _Coarse("insight_hours", (("hour", "INTEGER", _H),)),
    _Coarse("insight_days", (_D,)),
    _Coarse("insight_clock", (("block", "INTEGER", _H + " / 672"), ("how", "INTEGER", _H + " % 168")), ms=False),
    _Coarse("insight_artist_days", (_D, _ARTIST)),
    _Coarse("insight_track_days", (_D, _TRACK), display=_TITLES),
    _Coarse("insight_album_days", (_D, *_ALBUM), where=_ALBUM_WHERE),
    _Coarse("insight_source_days", (_D, *_SOURCE), ms=False),
    _Coarse("insight_tracks", (_TRACK,), display=_TITLES),
    _Coarse("insight_albums", _ALBUM, where=_ALBUM_WHERE),
    _Coarse("insight_sources", _SOURCE, ms=False),
    _Coarse("insight_recording_days", (_D, _REC), where=_REC_WHERE),
    _Coarse("insight_recordings", (_REC,), where=_REC_WHERE),
)

_NL = "\n    "


def _add(r: str) -> str:
    """Statements adding row `r` (NEW) to every roll-up."""
    ms = f"COALESCE({r}.duration_ms, 0)"
    day = f"CAST({r}.played_ts / 86400 AS INTEGER)"
    hour = f"CAST({r}.played_ts / 3600 AS INTEGER)"
    return f"""
    INSERT INTO insight_hours VALUES ({r}.user, CAST({r}.played_ts / 3600 AS INTEGER), 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_clock VALUES ({r}.user, {hour} / 672, {hour} % 168, 1)
        ON CONFLICT DO UPDATE SET plays = plays + 1;
    INSERT INTO insight_days VALUES ({r}.user, {day}, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_artist_days VALUES ({r}.user, {day}, {r}.artist, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_track_days VALUES ({r}.user, {day}, {r}.track_key, {r}.artist, {r}.title, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms, artist = excluded.artist,
        title = excluded.title;
    INSERT INTO insight_album_days SELECT {r}.user, {day}, {r}.artist, {r}.album, 1, {ms}
        WHERE COALESCE({r}.album, '') != ''
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_source_days VALUES ({r}.user, {day}, {r}.sources, COALESCE({r}.client, ''), 1)
        ON CONFLICT DO UPDATE SET plays = plays + 1;
    INSERT INTO insight_sources VALUES ({r}.user, {r}.sources, COALESCE({r}.client, ''), 1)
        ON CONFLICT DO UPDATE SET plays = plays + 1;
    INSERT INTO insight_artists VALUES ({r}.user, {r}.artist, 1, {ms}, {r}.played_ts)
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms,
        first_ts = MIN(first_ts, excluded.first_ts);
    INSERT INTO insight_tracks VALUES ({r}.user, {r}.track_key, {r}.artist, {r}.title, 1, {ms})
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms, artist = excluded.artist,
        title = excluded.title;
    INSERT INTO insight_albums SELECT {r}.user, {r}.artist, {r}.album, 1, {ms}
        WHERE COALESCE({r}.album, '') != ''
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_recording_days SELECT {r}.user, {day}, {r}.recording_mbid, 1, {ms}
        WHERE {r}.recording_mbid IS NOT NULL
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    INSERT INTO insight_recordings SELECT {r}.user, {r}.recording_mbid, 1, {ms}
        WHERE {r}.recording_mbid IS NOT NULL
        ON CONFLICT DO UPDATE SET plays = plays + 1, ms = ms + excluded.ms;
    {_NL.join(_coarse_add(c, r) for c in COARSE)}
"""


def _take(r: str) -> str:
    """Statements taking row `r` (OLD, already gone from history_plays) from every roll-up."""
    ms = f"COALESCE({r}.duration_ms, 0)"
    day = f"CAST({r}.played_ts / 86400 AS INTEGER)"
    out = []
    keyed = (
        ("insight_hours", f"user = {r}.user AND hour = CAST({r}.played_ts / 3600 AS INTEGER)", True),
        ("insight_days", f"user = {r}.user AND day = {day}", True),
        (
            "insight_clock",
            f"user = {r}.user AND block = CAST({r}.played_ts / 3600 AS INTEGER) / 672 "
            f"AND how = CAST({r}.played_ts / 3600 AS INTEGER) % 168",
            False,
        ),
        ("insight_artist_days", f"user = {r}.user AND day = {day} AND artist = {r}.artist", True),
        ("insight_track_days", f"user = {r}.user AND day = {day} AND track_key = {r}.track_key", True),
        ("insight_album_days", f"user = {r}.user AND day = {day} AND artist = {r}.artist AND album = {r}.album", True),
        (
            "insight_source_days",
            f"user = {r}.user AND day = {day} AND sources = {r}.sources AND client = COALESCE({r}.client, '')",
            False,
        ),
        ("insight_sources", f"user = {r}.user AND sources = {r}.sources AND client = COALESCE({r}.client, '')", False),
        ("insight_artists", f"user = {r}.user AND artist = {r}.artist", True),
        ("insight_tracks", f"user = {r}.user AND track_key = {r}.track_key", True),
        ("insight_albums", f"user = {r}.user AND artist = {r}.artist AND album = {r}.album", True),
        (
            "insight_recording_days",
            f"user = {r}.user AND day = {day} AND recording_mbid = {r}.recording_mbid",
            True,
        ),
        ("insight_recordings", f"user = {r}.user AND recording_mbid = {r}.recording_mbid", True),
    )
    for table, where, has_ms in keyed:
        sets = "plays = plays - 1" + (f", ms = ms - {ms}" if has_ms else "")
        out.append(f"UPDATE {table} SET {sets} WHERE {where};")
        out.append(f"DELETE FROM {table} WHERE {where} AND plays <= 0;")
    out.append(
        f"UPDATE insight_artists SET first_ts = (SELECT MIN(played_ts) FROM history_plays "
        f"WHERE user = {r}.user AND artist = {r}.artist) "
        f"WHERE user = {r}.user AND artist = {r}.artist AND first_ts >= {r}.played_ts;"
    )
    out += [_coarse_take(c, r) for c in COARSE]
    return "\n    ".join(out)


_COUNTED = "user, played_ts, artist, title, album, duration_ms, sources, client, track_key, recording_mbid"

TRIGGERS = {
    "insight_play_added": f"AFTER INSERT ON history_plays BEGIN {_add('NEW')} END",
    "insight_play_removed": f"AFTER DELETE ON history_plays BEGIN {_take('OLD')} END",
    "insight_play_changed": f"AFTER UPDATE OF {_COUNTED} ON history_plays BEGIN {_take('OLD')} {_add('NEW')} END",
    "insight_genre_added": f"AFTER INSERT ON history_genres BEGIN {_genre_change('NEW', '+')} END",
    "insight_genre_removed": f"AFTER DELETE ON history_genres BEGIN {_genre_change('OLD', '-')} END",
    "insight_genre_changed": (
        f"AFTER UPDATE ON history_genres BEGIN {_genre_change('OLD', '-')} {_genre_change('NEW', '+')} END"
    ),
}
