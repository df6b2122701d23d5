"""Ranges of insights in the asking user's time zone: exact bounds, trend buckets and UTC-offset periods.

Every bound is a local midnight turned into a UTC instant with the zone's rules, so a week that holds a
daylight-saving change is 167 or 169 hours long, as the person lived it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["RANGES", "Bucketing", "Range", "offset_periods", "resolve_range"]

RANGES = ("week", "month", "year", "all", "custom")


class RangeError(ValueError):
    pass


@dataclass(frozen=True)
class Range:
    kind: str
    start_day: date
    end_day: date
    """Exclusive: the first local day after the range."""
    tz: ZoneInfo
    prev_start_day: date | None
    prev_end_day: date | None

    @property
    def start(self) -> datetime:
        return midnight(self.start_day, self.tz)

    @property
    def end(self) -> datetime:
        return midnight(self.end_day, self.tz)

    @property
    def key(self) -> str:
        return f"{self.start_day.isoformat()}/{self.end_day.isoformat()}/{self.tz.key}"


def midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of a local day (a zone that skips midnight starts the day at the first hour that exists)."""
    at = datetime(day.year, day.month, day.day, tzinfo=tz)
    return at.astimezone(UTC).astimezone(tz)


def _month_start(day: date, back: int = 0) -> date:
    m = day.year * 12 + day.month - 1 - back
    return date(m // 12, m % 12 + 1, 1)


def resolve_range(
    kind: str,
    today: date,
    tz: ZoneInfo,
    first_day: date | None,
    start: date | None,
    end: date | None,
    last_day: date | None = None,
) -> Range:
    """`end` of a custom range is inclusive (the last day shown); the Range holds it exclusive. All time runs from
    the day of the first play to the end of today (or of the last play, if a clock put one in the future)."""
    if kind == "week":
        s = today - timedelta(days=today.weekday())
        return Range(kind, s, s + timedelta(days=7), tz, s - timedelta(days=7), s)
    if kind == "month":
        s = _month_start(today)
        return Range(kind, s, _month_start(today, -1), tz, _month_start(today, 1), s)
    if kind == "year":
        s = date(today.year, 1, 1)
        return Range(kind, s, date(today.year + 1, 1, 1), tz, date(today.year - 1, 1, 1), s)
    if kind == "all":
        last = max(last_day or today, today)
        return Range(kind, min(first_day or today, today), last + timedelta(days=1), tz, None, None)
    if kind == "custom":
        if start is None or end is None:
            raise RangeError("range=custom needs from and to (YYYY-MM-DD, both included)")
        if end < start:
            raise RangeError("to is before from")
        if (end - start).days > 366 * 100:
            raise RangeError("a custom range is at most a hundred years")
        days = (end - start).days + 1
        return Range(kind, start, end + timedelta(days=1), tz, start - timedelta(days=days), start)
    raise RangeError(f"range: one of {', '.join(RANGES)}")


@dataclass(frozen=True)
class Bucketing:
    unit: str
    starts: list[date]
    """Local first days of each bucket, and the first day after the last one."""


def buckets(start: date, end: date, unit: str | None = None) -> Bucketing:
    """Days for up to two months, weeks (from Monday) up to two years, months beyond."""
    span = (end - start).days
    unit = unit or ("day" if span <= 62 else "week" if span <= 731 else "month")
    out: list[date] = []
    if unit == "day":
        out = [start + timedelta(days=i) for i in range(span)]
    elif unit == "week":
        d = start - timedelta(days=start.weekday())
        while d < end:
            out.append(d)
            d += timedelta(days=7)
    else:
        d = date(start.year, start.month, 1)
        while d < end:
            out.append(d)
            d = _month_start(d, -1)
    out = [max(d, start) for d in out]
    return Bucketing(unit, [*out, end])


@lru_cache(maxsize=256)
def offset_periods(lo: int, hi: int, tz: ZoneInfo) -> list[tuple[int, int, int]]:
    """[lo, hi) in unix seconds cut where the zone's UTC offset changes: (from, to, offset seconds) each.

    Steps a week at a time (no zone changes its offset twice in a week) and finds a change's exact second by
    bisection, so fifteen years cost about a thousand offset look-ups (kept for the next request: a zone's rules
    do not change while the gateway runs)."""

    def off(t: int) -> int:
        delta = datetime.fromtimestamp(t, UTC).astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    periods: list[tuple[int, int, int]] = []
    start, current = lo, off(lo)
    t = lo
    while t < hi:
        nxt = min(t + 7 * 86400, hi)
        probe = min(nxt, hi - 1)
        if probe > t and off(probe) != current:
            a, b = t, probe  # off(a) == current, off(b) != current
            while b - a > 1:
                mid = (a + b) // 2
                if off(mid) == current:
                    a = mid
                else:
                    b = mid
            periods.append((start, b, current))
            start, current = b, off(b)
        t = nxt
    periods.append((start, hi, current))
    return periods
