"""The Sonos rules on their own: service detection, radio titles, when a play counts, and the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.livesettings import PipelineSettings
from infra.livesettings import LiveSettings
from ingest_svc.config import Config
from ingest_svc.domain.sonos_config import SonosConfig, parse_speakers, parse_user_map
from ingest_svc.domain.sonos_meta import ServiceId, detect_service, split_stream_title
from ingest_svc.domain.sonos_plays import PlayRules, PlayTracker, Snapshot
from ingest_svc.settings import Settings

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
SPEAKER_LIST = {12: "Spotify", 254: "TuneIn", 204: "Apple Music", 2: "Deezer", 160: "SoundCloud"}


@pytest.mark.parametrize(
    ("uri", "services", "expected"),
    [
        ("x-sonos-spotify:spotify%3atrack%3a4uLU6hMC?sid=12&flags=8224&sn=7", SPEAKER_LIST, ServiceId("spotify", 12)),
        ("x-sonosapi-stream:s24939?sid=254&flags=8224&sn=0", SPEAKER_LIST, ServiceId("tunein", 254)),
        ("x-sonos-http:song%3a1440857781.mp4?sid=204&flags=8224&sn=3", {}, ServiceId("apple_music", 204)),
        ("x-sonos-http:tr%3a3135556.mp3?sid=2&flags=8224&sn=5", {}, ServiceId("deezer", 2)),
        ("x-sonos-spotify:spotify%3atrack%3a4uLU6hMC?sid=9&flags=32&sn=1", {}, ServiceId("spotify", 9)),
        ("x-sonosapi-stream:s24939?sid=254&flags=8224&sn=0", {254: "TuneIn (New)"}, ServiceId("tunein_new", 254)),
        ("x-sonos-http:track%3a123.mp3?sid=160&flags=8224&sn=2", SPEAKER_LIST, ServiceId("soundcloud", 160)),
        ("x-sonos-http:track%3a123.mp3?sid=999&flags=8224&sn=2", SPEAKER_LIST, ServiceId("unknown", 999)),
        ("x-file-cifs://nas/Music/Dummy/03%20Sour%20Times.flac", SPEAKER_LIST, ServiceId("local_library")),
        ("x-rincon-stream:RINCON_000E58000000001400", SPEAKER_LIST, ServiceId("line_in")),
        ("x-rincon-mp3radio://radio.invalid/stream", SPEAKER_LIST, ServiceId("unknown")),
    ],
)
def test_the_service_comes_from_the_sid_named_by_the_speaker_then_the_fallback_table(
    uri: str, services: dict[int, str], expected: ServiceId
) -> None:
    assert detect_service(uri, services) == expected


@pytest.mark.parametrize(
    ("text", "song", "dropped"),
    [
        ("Nina Simone - Feeling Good", ("Nina Simone", "Feeling Good"), None),
        ("Sigur Rós \u2013 Hoppípolla", ("Sigur Rós", "Hoppípolla"), None),
        ("Jay-Z - 99 Problems", ("Jay-Z", "99 Problems"), None),
        ("Kanye West - Good News", ("Kanye West", "Good News"), None),
        ("TYPE=SNG|TITLE Couleurs|ARTIST M83|ALBUM Saturdays = Youth", ("M83", "Couleurs"), None),
        ("TYPE=AD|TITLE Buy now|ARTIST Brand", None, "type AD"),
        ("", None, "empty"),
        ("ZPSTR_CONNECTING", None, "status"),
        ("Radio Paradise - Listener supported", None, "station"),
        ("Ad break - back after this", None, "announcement"),
        ("Radio X - Jingle", None, "announcement"),
        ("Traffic and weather - every 15 minutes", None, "announcement"),
        ("The Morning Show with Sam", None, "no artist"),
        ("Call 0800 123 4567 - win tickets", None, "address"),
        ("Listen online at www.station.invalid", None, "address"),
    ],
)
def test_radio_titles_are_split_or_dropped_by_the_written_rules(
    text: str, song: tuple[str, str] | None, dropped: str | None
) -> None:
    title = split_stream_title(text, station="Radio Paradise")
    assert title.dropped == dropped
    assert ((title.artist, title.title) if title.is_song else None) == song


def _track(t: float, position: float, state: str = "PLAYING", duration: float = 300, queue: str = "1") -> Snapshot:
    return Snapshot(
        at=T0 + timedelta(seconds=t),
        state=state,
        uri="x-sonos-spotify:spotify%3atrack%3aabc?sid=12",
        service=ServiceId("spotify", 12),
        queue_position=queue,
        title="Roads",
        artist="Portishead",
        album="Dummy",
        duration_s=duration,
        position_s=position,
    )


def _feed(tracker: PlayTracker, snaps: list[Snapshot]) -> list[datetime]:
    return [play.started_at for snap in snaps for play in tracker.observe(snap)]


def test_seeking_forward_counts_only_the_time_that_passed() -> None:
    tracker = PlayTracker(PlayRules())
    # jumps to 2:30 of a 5:00 track ten seconds in: only 10 s were heard
    assert _feed(tracker, [_track(0, 0), _track(10, 150), _track(20, 160)]) == []
    assert tracker.current is not None and tracker.current.played_s == 20


def test_seeking_back_after_the_play_counted_does_not_double_it() -> None:
    tracker = PlayTracker(PlayRules())
    snaps = [_track(t, t) for t in range(0, 200, 10)] + [_track(200 + t, 60 + t) for t in range(0, 200, 10)]
    assert _feed(tracker, snaps) == [T0]


def test_the_same_track_queued_twice_is_two_plays() -> None:
    tracker = PlayTracker(PlayRules())
    first = [_track(t, t) for t in range(0, 300, 10)]
    second = [_track(300 + t, t, queue="2") for t in range(0, 300, 10)]
    assert _feed(tracker, first + second) == [T0, T0 + timedelta(seconds=300)]


def test_a_long_track_counts_after_four_minutes() -> None:
    tracker = PlayTracker(PlayRules())
    snaps = [_track(t, t, duration=1200) for t in range(0, 260, 10)]
    counted = [(s.at - T0).total_seconds() for s in snaps if tracker.observe(s)]
    assert counted == [240]


def test_the_first_poll_does_not_assume_what_played_before_it() -> None:
    tracker = PlayTracker(PlayRules(first_credit_s=15))
    # BrainStream starts while a 3:00 track is at 1:20: 15 s are credited, not 80, so it counts 75 s later
    assert _feed(tracker, [_track(0, 80, duration=180)]) == []
    assert _feed(tracker, [_track(t, 80 + t, duration=180) for t in range(10, 90, 10)]) == [T0 - timedelta(seconds=80)]


def _radio(t: float, content: str, state: str = "PLAYING") -> Snapshot:
    return Snapshot(
        at=T0 + timedelta(seconds=t),
        state=state,
        uri="x-sonosapi-stream:s24939?sid=254&flags=8224&sn=0",
        service=ServiceId("tunein", 254),
        stream_content=content,
        station="Radio Paradise",
    )


def test_zapping_past_a_radio_title_is_not_a_listen_and_stopping_logs_the_last_title() -> None:
    tracker = PlayTracker(PlayRules())
    snaps = [_radio(0, "A - One"), _radio(10, "B - Two"), _radio(20, "B - Two"), _radio(60, "B - Two", "STOPPED")]
    assert [(p.artist, p.title) for s in snaps for p in tracker.observe(s)] == [("B", "Two")]


def test_line_in_has_no_metadata_and_is_never_a_listen() -> None:
    tracker = PlayTracker(PlayRules())
    snap = Snapshot(at=T0, state="PLAYING", uri="x-rincon-stream:RINCON_1", service=ServiceId("line_in"))
    assert tracker.observe(snap) == []
    assert tracker.current is None


def test_speakers_and_users_parse_and_bad_values_fail_fast_naming_the_variable() -> None:
    assert parse_speakers(" 192.168.1.20, 192.168.1.21:1401,,192.168.1.20") == ["192.168.1.20", "192.168.1.21:1401"]
    assert parse_user_map("Living Room=alice, 192.168.1.21=bob") == {"living room": "alice", "192.168.1.21": "bob"}
    cfg = SonosConfig(users={"living room": "alice"}, default_user="admin")
    assert cfg.user_of("LIVING ROOM") == "alice"
    assert cfg.user_of("Kitchen", "192.168.1.30") == "admin"
    with pytest.raises(ValidationError, match="BRAINSTREAM_SONOS_SPEAKERS"):
        Settings(BRAINSTREAM_SONOS_SPEAKERS="192.168.1.20:99999")
    with pytest.raises(ValidationError, match="BRAINSTREAM_SONOS_USERS"):
        Settings(BRAINSTREAM_SONOS_USERS="Living Room")
    with pytest.raises(ValidationError, match="BRAINSTREAM_SONOS_SPEAKERS"):
        Settings(BRAINSTREAM_SONOS_SPEAKERS="not a host!")


def test_live_settings_replace_the_environment_and_default_to_ten_seconds() -> None:
    settings = Settings(BRAINSTREAM_SONOS_SPEAKERS="192.168.1.20", BRAINSTREAM_ADMIN_USER="root")
    live = LiveSettings()
    config = Config(settings, live)
    env = config.sonos()
    assert (env.speakers, env.discover, env.interval_s, env.default_user) == (["192.168.1.20"], False, 10.0, "root")
    live.pipeline = PipelineSettings(
        sonos_speakers=["192.168.1.21"], sonos_discover=True, sonos_interval_s=30, sonos_users={"Den": "carol"}
    )
    changed = config.sonos()
    assert (changed.speakers, changed.discover, changed.interval_s) == (["192.168.1.21"], True, 30)
    assert changed.user_of("den") == "carol"
