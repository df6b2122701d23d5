# ruff: noqa: RUF001  (titles in other scripts and full-width brackets are the point of these strings)
"""Title matching and ranking: the wrong song must not win, unwanted versions must go."""

from __future__ import annotations

import pytest

from acquire_svc.domain.matching import rank, title_similarity, unwanted_markers


@pytest.mark.parametrize(
    ("wanted", "candidate", "low", "high"),
    [
        ("Believer", "Imagine Dragons - Believer (Official Video)", 1.0, 1.0),
        ("Believe Her", "Believer", 0.0, 0.0),
        ("Believer", "Believe Her", 0.0, 0.0),
        ("Don't Stop Me Now", "Queen - Dont Stop Me Now - Remastered 2011", 1.0, 1.0),
        ("Déjà Vu", "deja vu", 1.0, 1.0),
        ("Salt & Pepper", "Salt and Pepper", 1.0, 1.0),
        ("Hold On", "Hold On Tight", 0.7, 0.85),
        # non-Latin scripts: the letters are kept, so two different titles never both fold to nothing
        ("残酷な天使のテーゼ", "千本桜", 0.0, 0.0),
        ("千本桜", "残酷な天使のテーゼ", 0.0, 0.0),
        ("残酷な天使のテーゼ", "高橋洋子 - 残酷な天使のテーゼ (Official Video)", 1.0, 1.0),
        ("千本桜", "【初音ミク】千本桜【オリジナル曲PV】", 0.3, 0.5),  # shares the title, not the decoration
        ("Группа крови", "Кино - Группа крови", 1.0, 1.0),
        ("Группа крови", "Кукушка", 0.0, 0.0),
        ("Dynamite", "방탄소년단 - Dynamite", 1.0, 1.0),
        ("봄날", "방탄소년단 - 피 땀 눈물", 0.0, 0.0),
        ("ガールズ", "カールス", 0.0, 0.6),  # voicing marks make other letters: two of four shared
        # mixed scripts
        ("Lemon", "米津玄師 - Lemon", 1.0, 1.0),
        ("打上花火", "DAOKO × 米津玄師『打上花火』", 0.4, 0.8),
        ("Gurenge", "紅蓮華 - LiSA", 0.0, 0.0),
        # emoji
        ("🔥", "🔥 (Official Video)", 1.0, 1.0),
        ("🔥", "❄", 0.0, 0.0),
        ("Fire 🔥", "Fire", 1.0, 1.0),
        ("😀", "", 0.0, 0.0),
    ],
)
def test_title_similarity(wanted: str, candidate: str, low: float, high: float) -> None:
    artists = ["Imagine Dragons", "Queen", "高橋洋子", "Кино", "방탄소년단", "米津玄師"]
    sim = title_similarity(wanted, candidate, artists)
    assert low <= sim <= high


@pytest.mark.parametrize(
    ("wanted", "candidate", "markers"),
    [
        ("Hello", "Hello (Live at Wembley)", ["live"]),
        ("Hello", "Hello - Nightcore", ["nightcore"]),
        ("Hello", "hello sped up", ["sped up"]),
        ("Hello", "Hello (Karaoke Version)", ["karaoke"]),
        ("Hello", "Hello (Acoustic Cover)", ["cover"]),
        ("Hello", "Hello (Club Remix)", ["remix"]),
        ("Hello (Club Remix)", "Hello (Club Remix)", []),
        ("Live Forever", "Oasis - Live Forever", []),
        ("Hello", "Hello (Official Video)", []),
        ("千本桜", "千本桜 (Live)", ["live"]),
        ("Dynamite", "Dynamite (Slowed)", ["slowed"]),
    ],
)
def test_unwanted_markers(wanted: str, candidate: str, markers: list[str]) -> None:
    assert unwanted_markers(wanted, candidate) == markers


def test_rank_prefers_title_then_duration_and_drops_versions() -> None:
    ranked = rank(
        "Believer",
        ["Imagine Dragons"],
        204.0,
        [
            ("live", "Imagine Dragons - Believer (Live)", 204.0),
            ("long", "Imagine Dragons - Believer (Official Video)", 240.0),
            ("wrong", "Believe Her", 204.0),
            ("best", "Imagine Dragons - Believer (Audio)", 205.0),
        ],
        min_similarity=0.8,
    )
    assert [r.key for r in ranked if r.dropped is None] == ["best", "long"]
    dropped = {r.key: r.dropped for r in ranked if r.dropped}
    assert "live" in (dropped["live"] or "")
    assert "similarity" in (dropped["wrong"] or "")
    assert ranked[0].explain().startswith("duration=")
