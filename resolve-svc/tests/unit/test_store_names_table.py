"""A store's right answer spelled its own way is accepted; another artist's hit is still refused.

Each row: the MusicBrainz recording (credit with join phrases, sort names and aliases as WS/2 gives them), what the
store answered, and whether validation must accept it. A store that names only one of the credited artists is
accepted (stores often credit the first artist alone); a store that names anyone not credited is refused.
"""

from __future__ import annotations

import pytest

from resolve_svc.domain.albums import AlbumConfig, validate_hit
from resolve_svc.domain.model import Artist, CommercialHit, Recording

A = Artist


def rec(title: str, *credit: Artist, ms: int = 240000) -> Recording:
    return Recording("m", title, credit, ms)


def hit(artist: str, title: str, ms: int = 240000) -> CommercialHit:
    return CommercialHit("itunes", artist, title, "Some Album", ms)


ACCEPTED = [
    # diacritics dropped by the store
    ("diacritics", rec("Hoppípolla", A("Sigur Rós")), hit("Sigur Ros", "Hoppipolla")),
    ("diacritics in both", rec("Jóga", A("Björk")), hit("Bjork", "Joga")),
    ("umlaut spelled out by NFKD", rec("Ace of Spades", A("Motörhead")), hit("Motorhead", "Ace of Spades")),
    # collaborations credited differently
    (
        "feat. vs &",
        rec("Get Lucky", A("Daft Punk", " feat. "), A("Pharrell Williams")),
        hit("Daft Punk & Pharrell Williams", "Get Lucky"),
    ),
    (
        "& vs comma",
        rec("Shallow", A("Lady Gaga", " & "), A("Bradley Cooper")),
        hit("Lady Gaga, Bradley Cooper", "Shallow"),
    ),
    (
        "& vs and",
        rec("Shallow", A("Lady Gaga", " & "), A("Bradley Cooper")),
        hit("Lady Gaga and Bradley Cooper", "Shallow"),
    ),
    (
        "& vs feat.",
        rec("Shallow", A("Lady Gaga", " & "), A("Bradley Cooper")),
        hit("Lady Gaga feat. Bradley Cooper", "Shallow"),
    ),
    ("other order", rec("Otis", A("JAY-Z", " & "), A("Kanye West")), hit("Kanye West & JAY-Z", "Otis")),
    (
        "featured artist left out",
        rec("Get Lucky", A("Daft Punk", " feat. "), A("Pharrell Williams")),
        hit("Daft Punk", "Get Lucky"),
    ),
    ("three names", rec("Umbrella", A("Rihanna", " feat. "), A("JAY-Z")), hit("Rihanna, JAY-Z", "Umbrella")),
    # non-Latin scripts and Latin transliterations
    ("Cyrillic to Latin", rec("Группа крови", A("Кино")), hit("Kino", "Gruppa krovi")),
    ("Latin to Cyrillic", rec("Gruppa krovi", A("Kino", aliases=("Кино",))), hit("Кино", "Группа крови")),
    (
        "Japanese, alias",
        rec("First Love", A("宇多田ヒカル", sort_name="Utada, Hikaru", aliases=("Utada Hikaru",))),
        hit("Hikaru Utada", "First Love"),
    ),
    ("Japanese, same script", rec("Lemon", A("米津玄師", aliases=("Kenshi Yonezu",))), hit("米津玄師", "Lemon")),
    ("Japanese, romanized", rec("Lemon", A("米津玄師", aliases=("Kenshi Yonezu",))), hit("Kenshi Yonezu", "Lemon")),
    (
        "Japanese title",
        rec("残酷な天使のテーゼ", A("高橋洋子", aliases=("Yoko Takahashi",))),
        hit("Yoko Takahashi", "残酷な天使のテーゼ"),
    ),
    ("Korean alias", rec("Dynamite", A("BTS", aliases=("방탄소년단",))), hit("방탄소년단", "Dynamite")),
    (
        "Korean transliterated",
        rec("Dynamite", A("방탄소년단", sort_name="BTS", aliases=("Bangtan Boys",))),
        hit("BTS", "Dynamite"),
    ),
    (
        "Arabic, sort name",
        rec("Ya Ahl El Eshq", A("محمد منير", sort_name="Mounir, Mohamed")),
        hit("Mohamed Mounir", "Ya Ahl El Eshq"),
    ),
    ("Greek", rec("Συννεφιασμένη Κυριακή", A("Βασίλης Τσιτσάνης")), hit("Vasilis Tsitsanis", "Synnefiasmeni Kyriaki")),
]

REFUSED = [
    ("other artist", rec("Bohemian Rhapsody", A("Queen")), hit("Queens of the Stone Age", "Bohemian Rhapsody")),
    ("tribute band", rec("Bohemian Rhapsody", A("Queen")), hit("The Queen Tribute Band", "Bohemian Rhapsody")),
    (
        "a collaboration is not its first artist",
        rec("Under Pressure", A("Queen")),
        hit("Queen & David Bowie", "Under Pressure"),
    ),
    ("one member of a band name", rec("September", A("Earth, Wind & Fire")), hit("Earth", "September")),
    ("a credited artist swapped", rec("Otis", A("JAY-Z", " & "), A("Kanye West")), hit("JAY-Z & Drake", "Otis")),
    ("transliteration of another name", rec("Группа крови", A("Кино")), hit("Kino Tribute", "Gruppa krovi")),
    (
        "another Japanese artist",
        rec("First Love", A("宇多田ヒカル", aliases=("Utada Hikaru",))),
        hit("浜崎あゆみ", "First Love"),
    ),
    ("another Japanese title", rec("残酷な天使のテーゼ", A("高橋洋子")), hit("高橋洋子", "魂のルフラン")),
    ("emoji title is not any title", rec("🔥", A("Someone")), hit("Someone", "❄")),
]


@pytest.mark.parametrize(("case", "recording", "store"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_store_spelling_is_accepted(case: str, recording: Recording, store: CommercialHit) -> None:
    check = validate_hit(store, recording, AlbumConfig())
    assert check.ok, f"{case}: {check.reason}"


@pytest.mark.parametrize(("case", "recording", "store"), REFUSED, ids=[c[0] for c in REFUSED])
def test_other_artist_or_title_is_refused(case: str, recording: Recording, store: CommercialHit) -> None:
    check = validate_hit(store, recording, AlbumConfig())
    assert not check.ok, (
        f"{case}: accepted with artist {check.artist_similarity:.2f}, title {check.title_similarity:.2f}"
    )
