"""Safe library paths from hostile metadata."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from library_svc.adapters.files import PathEscapes, resolve_inside
from library_svc.domain.paths import PathValues, disambiguate, render_path, safe_component
from library_svc.settings import DEFAULT_PATH_TEMPLATE


def values(**over: object) -> PathValues:
    base: dict[str, object] = {
        "albumartist": "Artist",
        "artist": "Artist",
        "album": "Album",
        "title": "Title",
        "ext": "flac",
        "year": 2001,
        "track": 3,
        "disc": 1,
    }
    base.update(over)
    return PathValues(**base)  # type: ignore[arg-type]


def test_default_template() -> None:
    assert render_path(DEFAULT_PATH_TEMPLATE, values()) == "Artist/Album (2001)/1-03 Title.flac"


def test_missing_year_leaves_no_empty_brackets() -> None:
    assert render_path(DEFAULT_PATH_TEMPLATE, values(year=None)) == "Artist/Album/1-03 Title.flac"


@pytest.mark.parametrize(
    "field,value",
    [
        ("title", "../../../etc/passwd"),
        ("album", ".."),
        ("albumartist", "../.."),
        ("title", "a\x00b"),
        ("albumartist", "/abs/olute"),
        ("album", "C:\\Windows\\System32"),
        ("title", "x" * 300),
        ("title", "é" * 300),
        ("albumartist", "CON"),
        ("album", "nul.txt"),
        ("title", "COM1"),
        ("album", "trailing dots..."),
        ("albumartist", "   spaces   "),
        ("title", "🎵🎶 emoji 👩‍👩‍👧‍👦"),
        ("title", "\u202eRTL override \u05e9\u05dc\u05d5\u05dd"),
        ("album", 'a<b>c:d"e|f?g*h'),
        ("title", ""),
        ("albumartist", "."),
    ],
)
def test_hostile_metadata_stays_inside_and_is_safe(tmp_path: Path, field: str, value: str) -> None:
    rel = render_path(DEFAULT_PATH_TEMPLATE, values(**{field: value}))
    parts = rel.split("/")
    assert len(parts) == 3, rel  # a value never adds or removes a directory
    for part in parts:
        assert part not in ("", ".", "..")
        assert "\x00" not in part and "\\" not in part
        assert not any(c in part for c in '<>:"|?*')
        assert len(part.encode("utf-8")) <= 255
        assert part == part.rstrip(". ")
        assert part == unicodedata.normalize("NFC", part)
        assert part.split(".")[0].upper() not in ("CON", "PRN", "AUX", "NUL", "COM1", "LPT1")
    assert rel.endswith(".flac")
    target = resolve_inside(tmp_path, rel)
    assert target.is_relative_to(tmp_path.resolve())


def test_long_utf8_name_cut_at_a_character_boundary() -> None:
    name = safe_component("é" * 300 + ".flac", keep_suffix=True)
    assert name.endswith(".flac")
    assert len(name.encode()) <= 255
    name.encode("utf-8").decode("utf-8")


def test_nfc_normalization() -> None:
    decomposed = "e\u0301"
    assert safe_component(decomposed) == "\u00e9"


def test_resolve_inside_refuses_escapes(tmp_path: Path) -> None:
    with pytest.raises(PathEscapes):
        resolve_inside(tmp_path, "../outside.mp3")
    with pytest.raises(PathEscapes):
        resolve_inside(tmp_path, "/etc/passwd")
    (tmp_path / "link").symlink_to("/tmp")
    with pytest.raises(PathEscapes):
        resolve_inside(tmp_path, "link/x.mp3")


def test_disambiguate_keeps_extension_and_limit() -> None:
    assert disambiguate("A/B/1-01 T.mp3", "abcd1234") == "A/B/1-01 T [abcd1234].mp3"
    long = "A/B/" + "x" * 250 + ".flac"
    out = disambiguate(long, "abcd1234")
    assert out.endswith(" [abcd1234].flac") and len(out.split("/")[-1].encode()) <= 255


def test_unknown_template_field_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        render_path("{nope}/{title}.{ext}", values())
