"""Turn a speaker's polled state into plays, with the rules written down here.

A poll gives a snapshot: transport state, track URI, queue position, metadata, duration and position. One
`PlayTracker` per group coordinator (a group plays one stream, so it is one play, not one per speaker) follows the
snapshots:

On-demand tracks (a duration is known):
- Listening time is the forward progress of the position between two polls, never more than the wall time between
  them: pausing adds nothing, seeking forward adds nothing beyond the time that passed, seeking back adds nothing.
- The first poll that sees a play credits its position up to `first_credit_s` (about one poll interval): what played
  before BrainStream looked is not assumed.
- A play counts once it has played half its duration or 4 minutes, whichever is less (ListenBrainz's rule). It is
  logged at that moment, once, with the time it started.
- Pause and resume, stop and play, or seeking back keep the same play: it is counted once.
- The same track counts again when it starts over on purpose: the position jumps back to its first
  `restart_window_s` after the play was already counted (repeat-one, "previous", or the track queued twice: another
  queue position is another play anyway).

Radio (no duration, no position):
- A play is one stream title (see `sonos_meta.split_stream_title`) on one station. It is logged when the title changes,
  the station changes or the stream stops, if it played for at least `min_radio_s` (zapping is not listening); its
  time is when the title was first seen. Titles the rules drop (ads, jingles, station talk) are never logged.

Time between two polls adds at most `max_step_s`, so a speaker unreachable for an hour does not credit an hour.

A restart forgets nothing that counted: the last on-demand play a group logged (`LoggedPlay`) is kept outside the
process, and a new tracker given it treats the same track at the same start time (within `restart_window_s`) as
already counted, so a long track logged before the restart is not logged again after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .sonos_meta import LINE_IN, RadioTitle, ServiceId, split_stream_title

__all__ = ["CountedPlay", "LoggedPlay", "PlayRules", "PlayTracker", "Snapshot", "counting_threshold_s"]

PLAYING = "PLAYING"


@dataclass(frozen=True)
class PlayRules:
    first_credit_s: float = 15.0
    restart_window_s: float = 15.0
    min_radio_s: float = 30.0
    max_on_demand_s: float = 240.0
    max_step_s: float = 60.0

    @classmethod
    def for_interval(cls, interval_s: float) -> PlayRules:
        """Windows that scale with the poll interval: a slower poll sees a restart later in the track."""
        window = max(15.0, interval_s * 1.5)
        return cls(first_credit_s=window, restart_window_s=window, max_step_s=max(60.0, interval_s * 3))


def counting_threshold_s(duration_s: float, rules: PlayRules) -> float:
    return min(duration_s / 2, rules.max_on_demand_s)


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    state: str
    """PLAYING, PAUSED_PLAYBACK, STOPPED, TRANSITIONING or NO_MEDIA_PRESENT, as the speaker says."""
    uri: str
    service: ServiceId
    queue_position: str = ""
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    duration_s: float | None = None
    position_s: float | None = None
    stream_content: str | None = None
    station: str | None = None

    @property
    def radio(self) -> bool:
        return not self.duration_s

    def radio_title(self) -> RadioTitle:
        if self.stream_content:
            return split_stream_title(self.stream_content, self.station)
        if self.artist and self.title:  # some radio services send a regular track's metadata
            return RadioTitle(self.artist, self.title, self.album)
        return split_stream_title(self.title, self.station)


@dataclass(frozen=True)
class LoggedPlay:
    track: str
    """The track's URI and queue position."""
    started_at: datetime


@dataclass(frozen=True)
class CountedPlay:
    started_at: datetime
    artist: str
    title: str
    album: str | None
    duration_s: float | None
    service: ServiceId
    uri: str
    station: str | None
    played_s: float
    radio: bool


@dataclass
class _Play:
    key: tuple[str, ...]
    started_at: datetime
    artist: str | None
    title: str | None
    album: str | None
    duration_s: float | None
    service: ServiceId
    uri: str
    station: str | None
    radio: bool
    dropped: str | None
    last_at: datetime
    last_position: float | None
    was_playing: bool
    played_s: float = 0.0
    logged: bool = False

    def counted(self) -> CountedPlay:
        assert self.artist and self.title
        return CountedPlay(
            started_at=self.started_at,
            artist=self.artist,
            title=self.title,
            album=self.album,
            duration_s=self.duration_s,
            service=self.service,
            uri=self.uri,
            station=self.station,
            played_s=round(self.played_s, 1),
            radio=self.radio,
        )


class PlayTracker:
    def __init__(self, rules: PlayRules | None = None, last: LoggedPlay | None = None) -> None:
        self.rules = rules or PlayRules()
        self.current: _Play | None = None
        self.last = last
        """The last on-demand play this group counted."""

    def observe(self, snap: Snapshot) -> list[CountedPlay]:
        """Feed one poll; answer the plays that count as of this poll (usually none, at most two)."""
        out: list[CountedPlay] = []
        if not snap.uri or snap.service.name == LINE_IN or snap.state == "NO_MEDIA_PRESENT":
            out += self._end(snap.at)
            return out
        key = self._key(snap)
        cur = self.current
        if cur is not None and cur.key == key and not self._restarted(cur, snap):
            self._advance(cur, snap)
        else:
            out += self._end(snap.at)
            cur = self.current = self._start(snap, key)
        if cur.radio:
            if snap.state == "STOPPED":
                out += self._end(snap.at)
        elif (
            not cur.logged
            and cur.dropped is None
            and cur.duration_s
            and cur.played_s >= counting_threshold_s(cur.duration_s, self.rules)
        ):
            cur.logged = True
            self.last = LoggedPlay("|".join(cur.key[1:]), cur.started_at)
            out.append(cur.counted())
        return out

    def end(self, at: datetime) -> list[CountedPlay]:
        """The group is gone (regrouped, or its coordinator away for several polls): its radio title ends here."""
        return self._end(at)

    def _key(self, snap: Snapshot) -> tuple[str, ...]:
        if snap.radio:
            rt = snap.radio_title()
            return ("radio", snap.uri, rt.artist or "", rt.title or "", rt.dropped or "")
        return ("track", snap.uri, snap.queue_position)

    def _restarted(self, cur: _Play, snap: Snapshot) -> bool:
        if cur.radio or not cur.logged or snap.position_s is None or cur.last_position is None:
            return False
        went_back = snap.position_s + 1 < cur.last_position
        return went_back and snap.position_s <= self.rules.restart_window_s

    def _start(self, snap: Snapshot, key: tuple[str, ...]) -> _Play:
        playing = snap.state == PLAYING
        if snap.radio:
            rt = snap.radio_title()
            return _Play(
                key=key,
                started_at=snap.at,
                artist=rt.artist,
                title=rt.title,
                album=rt.album,
                duration_s=None,
                service=snap.service,
                uri=snap.uri,
                station=snap.station,
                radio=True,
                dropped=rt.dropped,
                last_at=snap.at,
                last_position=None,
                was_playing=playing,
            )
        position = snap.position_s or 0.0
        dropped = None if snap.artist and snap.title else "no metadata"
        play = _Play(
            key=key,
            started_at=(snap.at - timedelta(seconds=position)).replace(microsecond=0),
            artist=snap.artist,
            title=snap.title,
            album=snap.album or None,
            duration_s=snap.duration_s,
            service=snap.service,
            uri=snap.uri,
            station=None,
            radio=False,
            dropped=dropped,
            last_at=snap.at,
            last_position=position,
            was_playing=playing,
            played_s=min(position, self.rules.first_credit_s),
        )
        last = self.last
        if (
            last is not None
            and last.track == "|".join(key[1:])
            and abs((play.started_at - last.started_at).total_seconds()) <= self.rules.restart_window_s
        ):
            play.logged, play.started_at = True, last.started_at  # counted before a restart: the same play
        return play

    def _advance(self, cur: _Play, snap: Snapshot) -> None:
        dt = min(max(0.0, (snap.at - cur.last_at).total_seconds()), self.rules.max_step_s)
        if cur.radio:
            if cur.was_playing:
                cur.played_s += dt
        elif snap.position_s is not None and cur.last_position is not None:
            step = snap.position_s - cur.last_position
            if step > 0:
                cur.played_s += min(step, dt)
        cur.last_at = snap.at
        cur.last_position = snap.position_s
        cur.was_playing = snap.state == PLAYING
        cur.album = cur.album or snap.album or None

    def _end(self, at: datetime) -> list[CountedPlay]:
        cur, self.current = self.current, None
        if cur is None or not cur.radio or cur.logged or cur.dropped is not None:
            return []
        if cur.was_playing:
            cur.played_s += min(max(0.0, (at - cur.last_at).total_seconds()), self.rules.max_step_s)
        if cur.played_s < self.rules.min_radio_s:
            return []
        cur.logged = True
        return [cur.counted()]
