# ruff: noqa: RUF001  (Unicode punctuation is the point of these strings)
"""Messy real-world titles → the recording MusicBrainz knows (or an honest "unresolved").

The whole use case runs with Protocol fakes: cleaning, the lenient search of the test catalog, the distance and the
threshold. Only the HTTP is left out (the service tests cover it).
"""

from __future__ import annotations

import pytest
from resolve_catalog import by_key, mbid, search_pool
from resolve_fakes import DictAlbums, DictCache

from contracts.common import TrackQuery
from contracts.resolve import UnresolvedReason
from resolve_svc.adapters.musicbrainz import parse_recording
from resolve_svc.chain import AlbumChain
from resolve_svc.domain.albums import AlbumConfig
from resolve_svc.domain.model import CommercialHit, Query, Recording
from resolve_svc.domain.scoring import MatchConfig
from resolve_svc.service import Resolver


class FakeMusicBrainz:
    def __init__(self) -> None:
        self.searches: list[Query] = []

    async def lookup(self, mbid: str) -> Recording | None:
        return None

    async def by_isrc(self, isrc: str) -> list[Recording]:
        return []

    async def search(self, query: Query) -> list[Recording]:
        self.searches.append(query)
        return [parse_recording(d) for d in search_pool(query.artist, query.title)]


class NoMetadata:
    async def recording(self, mbid: str) -> Recording | None:
        return None


class NoCovers:
    async def front(self, entity: str, mbid: str) -> tuple[str, int | None] | None:
        return None


class AllImages:
    async def is_image(self, url: str) -> bool:
        return True


class NoStore:
    name = "itunes"

    async def search(self, rec: Recording) -> list[CommercialHit]:
        return []


def resolver() -> tuple[Resolver, FakeMusicBrainz]:
    mb = FakeMusicBrainz()
    chain = AlbumChain([NoStore()], mb, NoCovers(), AllImages(), AlbumConfig(), DictAlbums())
    return Resolver(NoMetadata(), mb, chain, DictCache(), MatchConfig()), mb


NOT_FOUND, BELOW = "not_found", "below_threshold"

TABLE: list[tuple[str, str, int | None, str]] = [
    # remasters, video noise, "Artist - " prefixes
    ("Queen", "Queen - Bohemian Rhapsody (Official Video Remastered)", 355000, "bohemian"),
    ("Queen", "Bohemian Rhapsody (Remastered 2011)", None, "bohemian"),
    ("", "Queen – Bohemian Rhapsody", None, "bohemian"),
    ("The Beatles", "Let It Be (Remastered 2009)", None, "let-it-be"),
    ("Beatles", "Here Comes The Sun - Remastered 2019", 185500, "here-comes"),
    ("Led Zeppelin", "Stairway To Heaven (Remaster)", 482830, "stairway"),
    ("Nirvana", "Nirvana - Come As You Are (Official Music Video)", None, "come-as"),
    ("Rammstein", "Du Hast (Official Video)", None, "du-hast"),
    ("Portishead", "Glory Box HD", None, "glory-box"),
    ("Motorhead", "Ace Of Spades [Lyrics]", None, "ace"),
    ("Ed Sheeran", "Shape of You [Official Lyric Video]", None, "shape"),
    ("The Weeknd", "Blinding Lights (Official Audio)", None, "blinding"),
    # live versions: wanted only when asked for
    ("Queen", "Bohemian Rhapsody (Live at Wembley '86)", None, "bohemian-live"),
    ("Nirvana", "Smells Like Teen Spirit", 301000, "teen-spirit"),
    ("Nirvana", "Smells Like Teen Spirit (Live)", None, "teen-spirit-live"),
    ("Metallica", "Nothing Else Matters (Live)", None, "nothing-else-live"),
    ("Metallica", "Nothing Else Matters", 388000, "nothing-else"),
    # duration separates a studio take from an acoustic one
    ("Radiohead", "Creep", 238000, "creep"),
    # feat. and multi-artist credits
    ("Mark Ronson", "Uptown Funk (feat. Bruno Mars) [Official Video]", None, "uptown"),
    ("Mark Ronson ft. Bruno Mars", "Uptown Funk", 270000, "uptown"),
    ("Daft Punk", "Get Lucky (feat. Pharrell Williams & Nile Rodgers) (Official Audio)", None, "get-lucky"),
    ("Daft Punk feat. Pharrell Williams", "Get Lucky (Radio Edit)", None, "get-lucky"),
    ("Jay-Z", "Empire State Of Mind ft. Alicia Keys", None, "empire"),
    ("JAY Z feat. Alicia Keys", "Empire State of Mind [Explicit]", None, "empire"),
    ("Bob Marley", "Redemption Song", None, "redemption"),
    ("Simon and Garfunkel", "The Sound of Silence", None, "silence"),
    ("Billy Idol", "Dancing with Myself", None, "dancing"),
    # non-Latin scripts, by name or by alias
    ("Kumi Koda", "Last Angel feat. Tohoshinki", None, "last-angel"),
    ("倖田來未", "LAST ANGEL", None, "last-angel"),
    ("Kenshi Yonezu", "Lemon", None, "lemon"),
    ("米津玄師", "Lemon (Official Video)", None, "lemon"),
    ("BTS", "Dynamite (Official MV)", None, "dynamite"),
    # "The" prefixes, either way round
    ("Weeknd", "Blinding Lights", None, "blinding"),
    ("Rolling Stones", "(I Can’t Get No) Satisfaction (Mono)", None, "satisfaction"),
    ("The Rolling Stones", "Satisfaction", None, "satisfaction"),
    ("Bruce Springsteen", "River", None, "river"),
    # Unicode punctuation and diacritics
    ("Guns N’ Roses", "Sweet Child O’ Mine (Official Music Video)", None, "sweet-child"),
    ("Guns N' Roses", "Sweet Child O' Mine", 356000, "sweet-child"),
    ("Taylor Swift", "Anti-Hero (Official Music Video)", None, "anti-hero"),
    ("Taylor Swift", "Anti–Hero", None, "anti-hero"),
    ("A-ha", "Take On Me (Official Video)", None, "take-on-me"),
    ("Beyonce", "Halo (Official Music Video)", None, "halo"),
    ("Sigur Ros", "Hoppipolla", None, "hoppipolla"),
    ("Bjork", "Joga", None, "joga"),
    ("Edith Piaf", "Non, Je Ne Regrette Rien", None, "piaf"),
    ("ACDC", "Back In Black", None, "back-in-black"),
    # compilations are not a reason to pick another recording
    ("Queen", "Bohemian Rhapsody (Greatest Hits version)", None, "bohemian"),
    # honest failures: never a silent guess
    ("Queen", "Somebody to Love", None, BELOW),
    ("Queens of the Stone Age", "Make It Wit Chu", None, BELOW),
    ("Nickelback", "Photograph", None, NOT_FOUND),
]


def test_table_is_big_enough() -> None:
    assert len(TABLE) >= 40


@pytest.mark.parametrize(("artist", "title", "duration", "expected"), TABLE, ids=[f"{r[0]}|{r[1]}" for r in TABLE])
async def test_messy_title_resolves(artist: str, title: str, duration: int | None, expected: str) -> None:
    res, _ = resolver()
    query = TrackQuery(artist=artist or None, title=title, duration_ms=duration)
    outcome = await res.resolve(query)
    if expected in (NOT_FOUND, BELOW):
        assert outcome.track is None
        assert outcome.reason == UnresolvedReason(expected)
        if expected == BELOW:
            assert outcome.candidate_count > 0 and outcome.top_penalties
        return
    assert outcome.track is not None, (outcome.reason, outcome.top_penalties)
    assert str(outcome.track.recording_mbid) == mbid(expected), outcome.explanation
    assert outcome.track.title == by_key(expected)["title"]
    assert outcome.explanation is not None and outcome.explanation.method == "fuzzy"


async def test_known_mbid_is_never_fuzzy_matched() -> None:
    res, mb = resolver()
    outcome = await res.resolve(TrackQuery(recording_mbid=mbid("nowhere"), artist="Queen", title="Bohemian Rhapsody"))
    assert outcome.track is None and outcome.reason == UnresolvedReason.NOT_FOUND
    assert mb.searches == []
