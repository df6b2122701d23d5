# ruff: noqa: RUF001  (Unicode look-alikes and other scripts are the point of these strings)
"""The shared text-folding variants, by table; the id variant is pinned to the ids clients already hold."""

from __future__ import annotations

import pytest

from infra.textfold import (
    VERSIONS,
    credit_names,
    display_key,
    id_key,
    is_latin,
    match_key,
    match_tokens,
    translit_key,
)


@pytest.mark.parametrize(
    ("text", "display", "match"),
    [
        ("Sigur Rós", "Sigur Rós", "sigur ros"),
        ("Beyoncé", "Beyoncé", "beyonce"),
        ("Don\u2019t  Stop\u00a0Me", "Don't Stop Me", "dont stop me"),
        ("Motörhead & Björk", "Motörhead & Björk", "motorhead and bjork"),
        ("Florence + the Machine", "Florence + the Machine", "florence and the machine"),
        ("Straße", "Straße", "strasse"),
        ("ＡＢＣ", "ABC", "abc"),
        ("千本桜", "千本桜", "千本桜"),
        ("デュア・リパ", "デュア・リパ", "デュア リパ"),
        ("ガールズ", "ガールズ", "ガールズ"),
        ("두아 리파", "두아 리파", "두아 리파"),
        ("Группа крови", "Группа крови", "группа крови"),
        ("🔥 Fire 🔥", "🔥 Fire 🔥", "fire"),
        ("🔥", "🔥", ""),
    ],
)
def test_display_and_match_keys(text: str, display: str, match: str) -> None:
    assert display_key(text) == display
    assert match_key(text) == match


@pytest.mark.parametrize(
    ("text", "translit"),
    [("Кино", "kino"), ("두아 리파", "dua lipa"), ("Sigur Rós", "sigur ros"), ("🔥", "fire"), ("Lemon", "lemon")],
)
def test_translit_key(text: str, translit: str) -> None:
    assert translit_key(text) == translit


def test_match_tokens_split_scripts_written_without_spaces() -> None:
    assert match_tokens("千本桜 (Live)") == ["千", "本", "桜", "live"]
    assert match_tokens("米津玄師Lemon") == ["米", "津", "玄", "師", "lemon"]
    assert match_tokens("두아 리파") == ["두아", "리파"]


@pytest.mark.parametrize(
    ("credit", "names"),
    [
        ("A & B", ["a", "b"]),
        ("A, B", ["a", "b"]),
        ("A feat. B", ["a", "b"]),
        ("A ft B", ["a", "b"]),
        ("A and B", ["a", "b"]),
        ("A x B", ["a", "b"]),
        ("A × B", ["a", "b"]),
        ("AC/DC", ["ac dc"]),
        ("Jay-Z", ["jay z"]),
        ("Malcolm X", ["malcolm x"]),
    ],
)
def test_credit_names(credit: str, names: list[str]) -> None:
    assert credit_names(credit) == names


def test_id_key_is_version_one() -> None:
    """Library ids are made from it (library-svc's tests pin the ids themselves)."""
    assert VERSIONS["id"] == 1
    assert id_key("Beyoncé") == "beyonce" and id_key("ＡＢＣ") == "abc" and id_key("Sigur Rós") == "sigur ros"


def test_is_latin() -> None:
    assert is_latin("Björk") and is_latin("Sigur Rós") and is_latin("AC/DC 1")
    assert not is_latin("Кино") and not is_latin("宇多田ヒカル") and not is_latin("BTS 방탄소년단")
