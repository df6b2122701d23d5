# ruff: noqa: RUF001  (Unicode punctuation is the point of these strings)
"""Cleaning, comparison and the album rules, pure."""

from __future__ import annotations

import pytest

from resolve_svc.domain.albums import AlbumConfig, best_commercial, best_release, largest_itunes_cover, validate_hit
from resolve_svc.domain.model import Artist, CommercialHit, Recording, Release
from resolve_svc.domain.text import clean_artist, clean_title, fold, split_artist_prefix


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Bohemian Rhapsody (Remastered 2011)", "Bohemian Rhapsody"),
        ("Halo [Official Music Video] HD", "Halo"),
        ("Uptown Funk (feat. Bruno Mars)", "Uptown Funk"),
        ("Here Comes the Sun - Remastered 2019", "Here Comes the Sun"),
        ("Lemon [Lyrics]", "Lemon"),
        ("Dancing with Myself", "Dancing with Myself"),
        ("Anti‐Hero (Official Audio)", "Anti-Hero"),
        ("Smells Like Teen Spirit (Live)", "Smells Like Teen Spirit (Live)"),
    ],
)
def test_clean_title(raw: str, clean: str) -> None:
    assert clean_title(raw) == clean


def test_fold_and_prefix() -> None:
    assert fold("Motörhead’s “Ace” – Beyoncé & Björk") == "motorheads ace beyonce and bjork"
    assert split_artist_prefix("Queen – Bohemian Rhapsody", None) == ("Queen", "Bohemian Rhapsody")
    assert split_artist_prefix("Jay-Z - Dirt Off Your Shoulder", "Jay-Z") == ("Jay-Z", "Dirt Off Your Shoulder")
    assert split_artist_prefix("Intro - Reprise", "Someone") == ("Someone", "Intro - Reprise")
    assert clean_artist("Mark Ronson ft. Bruno Mars") == "Mark Ronson"


REC = Recording("m", "Bohemian Rhapsody", (Artist("Queen"),), 354000)


def hit(artist: str, album: str, ms: int | None = 354000, title: str = "Bohemian Rhapsody") -> CommercialHit:
    return CommercialHit("itunes", artist, title, album, ms)


def test_store_hit_validation() -> None:
    cfg = AlbumConfig()
    assert validate_hit(hit("Queen", "A Night at the Opera"), REC, cfg).ok
    assert not validate_hit(hit("Queens of the Stone Age", "Songs"), REC, cfg).ok
    assert not validate_hit(hit("Queen", "A Night at the Opera", 420000), REC, cfg).ok
    live = hit("Queen", "Live Killers", title="Bohemian Rhapsody (Live)")
    assert not validate_hit(live, REC, cfg).ok


def test_studio_album_wins_among_store_hits() -> None:
    hits = [hit("Queen", "Greatest Hits"), hit("Queen", "Live at Wembley '86"), hit("Queen", "A Night at the Opera")]
    chosen, rejected = best_commercial(hits, REC, AlbumConfig())
    assert chosen is not None and chosen.album == "A Night at the Opera" and rejected == []


def test_official_album_without_secondary_types_earliest_first() -> None:
    releases = (
        Release(
            "Greatest Hits", primary_type="Album", secondary_types=("Compilation",), status="Official", date="1981"
        ),
        Release("Live Killers", primary_type="Album", secondary_types=("Live",), status="Official", date="1979"),
        Release("Bootleg", primary_type="Album", status="Bootleg", date="1974"),
        Release("A Night at the Opera (2011 reissue)", primary_type="Album", status="Official", date="2011"),
        Release("A Night at the Opera", primary_type="Album", status="Official", date="1975-11-21"),
    )
    chosen = best_release(releases)
    assert chosen is not None and chosen.title == "A Night at the Opera"


def test_itunes_cover_is_upscaled_within_its_url_scheme() -> None:
    url = "https://is1-ssl.mzstatic.com/image/thumb/Music/v4/aa/bb/x.rgb.jpg/100x100bb.jpg"
    assert largest_itunes_cover(url, 3000) == (url.replace("100x100bb", "3000x3000bb"), 3000)
