"""The pure rules: the split of a run, retrain detection, a play's identity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest_svc.adapters.listenbrainz import generated_kind
from ingest_svc.domain.listens import Listen, ListenCursor, listen_event_id, play_key, poll_window_start
from ingest_svc.domain.recommendations import (
    CfCursor,
    CfPage,
    Marker,
    Recommendation,
    Selection,
    detect_retrain,
    marker_of,
    split_run,
    split_run3,
)

from .fakes import generated_playlist, mbid


@pytest.mark.parametrize(
    ("size", "ratio", "expected"),
    [
        (10, 0.8, (8, 2)),
        (20, 0.8, (16, 4)),
        (7, 0.8, (6, 1)),
        (3, 0.8, (2, 1)),
        (1, 0.8, (1, 0)),
        (5, 0.0, (0, 5)),
        (5, 1.0, (5, 0)),
        (9, 0.5, (5, 4)),
    ],
)
def test_split_run_is_within_one_candidate_of_the_ratio(size: int, ratio: float, expected: tuple[int, int]) -> None:
    cf, radio = split_run(size, ratio)
    assert (cf, radio) == expected
    assert abs(cf - size * ratio) <= 0.5 + 1e-9


@pytest.mark.parametrize(
    ("size", "cf_ratio", "playlists_ratio", "expected"),
    [
        (20, 0.8, 0.2, (13, 3, 4)),
        (20, 0.8, 0.0, (16, 4, 0)),
        (10, 0.8, 0.25, (6, 1, 3)),
        (5, 1.0, 1.0, (0, 0, 5)),
        (1, 0.8, 0.2, (1, 0, 0)),
    ],
)
def test_the_playlists_take_their_share_first_and_cf_and_radio_split_the_rest(
    size: int, cf_ratio: float, playlists_ratio: float, expected: tuple[int, int, int]
) -> None:
    assert split_run3(size, cf_ratio, playlists_ratio) == expected
    assert sum(expected) == size


def test_generated_playlists_are_known_by_their_algorithm_then_their_title() -> None:
    assert generated_kind(generated_playlist("weekly-exploration", [])) == "weekly-exploration"
    assert generated_kind(generated_playlist("weekly-jams", [], patch=False)) == "weekly-jams"
    assert generated_kind(generated_playlist("daily-jams", [])) is None
    # a named algorithm wins over a title that looks like ours
    renamed = generated_playlist("top-discoveries-for-year", []) | {"title": "Weekly Jams, kind of"}
    assert generated_kind(renamed) is None
    assert generated_kind({"title": "My weekly jams"}) is None


def test_marker_prefers_model_id_then_last_updated_then_first_mbid() -> None:
    head = Recommendation(mbid(1), 0)
    assert marker_of(CfPage(0, [head], model_id="m", last_updated="1"), head) == Marker("model_id", "m")
    assert marker_of(CfPage(0, [head], last_updated="1"), head) == Marker("last_updated", "1")
    assert marker_of(CfPage(0, [head]), head) == Marker("first_mbid", str(mbid(1)))
    assert marker_of(CfPage(0, []), None) is None


@pytest.mark.parametrize(
    ("stored", "new", "retrain"),
    [
        (None, Marker("model_id", "m1"), False),  # first run: nothing to compare with
        (Marker("model_id", "m1"), Marker("model_id", "m1"), False),
        (Marker("model_id", "m1"), Marker("model_id", "m2"), True),
        (Marker("first_mbid", "a"), Marker("first_mbid", "b"), True),
        (Marker("first_mbid", "a"), Marker("model_id", "m1"), False),  # other kinds cannot be compared
        (Marker("model_id", "m1"), None, False),
    ],
)
def test_detect_retrain(stored: Marker | None, new: Marker | None, retrain: bool) -> None:
    found = detect_retrain(CfCursor(offset=50, marker=stored), new)
    assert (found is not None) == retrain
    if found:
        assert (found.old, found.new, found.old_offset) == (stored, new, 50)


def test_selection_counts_duplicates_across_sources() -> None:
    sel = Selection()
    assert sel.admit(mbid(1), known=False)
    assert not sel.admit(mbid(1), known=False)
    assert not sel.admit(mbid(2), known=True)
    assert sel.duplicates == 2


def _listen(ts: int, identity: str) -> Listen:
    return Listen("listenbrainz", datetime.fromtimestamp(ts, UTC), "A", "T", play_identity=f"{ts}:{identity}")


def test_a_play_key_is_per_user_source_and_time() -> None:
    a, again, later = _listen(100, "msid"), _listen(100, "msid"), _listen(400, "msid")
    assert play_key("u", a) == play_key("u", again)
    assert play_key("u", a) != play_key("u", later)  # a real repeat
    assert play_key("u", a) != play_key("v", a)
    assert listen_event_id(play_key("u", a)) == listen_event_id(play_key("u", again))


def test_poll_window_reads_back_by_the_lookback() -> None:
    assert poll_window_start(None, 3600, 0) == 0
    assert poll_window_start(None, 3600, 5000) == 5000
    assert poll_window_start(ListenCursor(newest_ts=10_000), 3600, 0) == 6400
    assert poll_window_start(ListenCursor(newest_ts=1000), 3600, 0) == 0
