# ruff: noqa: RUF001  (Unicode punctuation is the point of these strings)
"""A small MusicBrainz world for the tests, as WS/2 JSON: studio albums, compilations, live albums, feat. credits,
non-Latin names with aliases, Unicode punctuation. The fakes serve it; the matching table resolves against it."""

from __future__ import annotations

import uuid
from typing import Any

from resolve_svc.domain.text import artist_variants, fold

__all__ = ["RECORDINGS", "album_catalog", "by_key", "mbid", "search_pool"]

_NS = uuid.UUID("0b8c3c1e-58a5-4f8e-9f57-2f3b0c7d6a10")

Artist = tuple[str, str, str | None, tuple[str, ...]]  # name, join phrase, sort name, aliases
Rel = tuple[str, str, tuple[str, ...], str, str]  # title, primary type, secondary types, status, date


def mbid(key: str) -> str:
    return str(uuid.uuid5(_NS, key))


def _doc(key: str, title: str, artists: list[Artist], length: int | None, releases: list[Rel], dis: str = "") -> Any:
    credit = [
        {
            "name": name,
            "joinphrase": join,
            "artist": {
                "id": mbid(f"artist:{name}"),
                "name": name,
                "sort-name": sort or name,
                "aliases": [{"name": a} for a in aliases],
            },
        }
        for name, join, sort, aliases in artists
    ]
    return {
        "id": mbid(key),
        "title": title,
        "length": length,
        "disambiguation": dis,
        "artist-credit": credit,
        "first-release-date": min((r[4] for r in releases), default=None),
        "isrcs": [f"XX{abs(hash(key)) % 10**10:010d}"],
        "releases": [
            {
                "id": mbid(f"release:{key}:{rt}"),
                "title": rt,
                "status": status,
                "date": date,
                "artist-credit": credit[:1],
                "release-group": {
                    "id": mbid(f"rg:{rt}"),
                    "title": rt,
                    "primary-type": ptype,
                    "secondary-types": list(sec),
                },
                "media": [{"position": 1, "track-count": 12, "track": [{"number": str(3 + i), "title": title}]}],
            }
            for i, (rt, ptype, sec, status, date) in enumerate(releases)
        ],
    }


def _a(name: str, join: str = "", sort: str | None = None, *aliases: str) -> Artist:
    return (name, join, sort, tuple(aliases))


ALB, COMP, LIVE = ("Album", (), "Official"), ("Album", ("Compilation",), "Official"), ("Album", ("Live",), "Official")


def _r(title: str, kind: tuple[str, tuple[str, ...], str], date: str) -> Rel:
    return (title, kind[0], kind[1], kind[2], date)


RECORDINGS: dict[str, Any] = {}


def _add(key: str, title: str, artists: list[Artist], length: int | None, releases: list[Rel], dis: str = "") -> None:
    RECORDINGS[key] = _doc(key, title, artists, length, releases, dis)


_queen = [_a("Queen")]
# the compilation is listed first, as MusicBrainz often does
_add(
    "bohemian",
    "Bohemian Rhapsody",
    _queen,
    354000,
    [
        _r("Greatest Hits", COMP, "1981-10-26"),
        _r("Live at Wembley '86", LIVE, "1992-05-26"),
        _r("A Night at the Opera", ALB, "1975-11-21"),
    ],
)
_add(
    "bohemian-live",
    "Bohemian Rhapsody",
    _queen,
    359000,
    [_r("Live at Wembley '86", LIVE, "1992-05-26")],
    "live, 1986-07-12: Wembley Stadium, London",
)
_add("killer-queen", "Killer Queen", _queen, 180000, [_r("Sheer Heart Attack", ALB, "1974-11-08")])
_add("qotsa", "No One Knows", [_a("Queens of the Stone Age")], 278000, [_r("Songs for the Deaf", ALB, "2002-08-27")])
_beatles = [_a("The Beatles", "", "Beatles, The")]
_add("let-it-be", "Let It Be", _beatles, 243000, [_r("1", COMP, "2000-11-13"), _r("Let It Be", ALB, "1970-05-08")])
_add("here-comes", "Here Comes the Sun", _beatles, 185000, [_r("Abbey Road", ALB, "1969-09-26")])
_add("halo", "Halo", [_a("Beyoncé", "", "Knowles, Beyoncé")], 261000, [_r("I Am… Sasha Fierce", ALB, "2008-11-12")])
_add("hoppipolla", "Hoppípolla", [_a("Sigur Rós")], 268000, [_r("Takk…", ALB, "2005-09-12")])
_add(
    "uptown",
    "Uptown Funk",
    [_a("Mark Ronson", " feat. "), _a("Bruno Mars")],
    269000,
    [_r("Uptown Special", ALB, "2015-01-13")],
)
_add(
    "get-lucky",
    "Get Lucky",
    [_a("Daft Punk", " feat. "), _a("Pharrell Williams", " & "), _a("Nile Rodgers")],
    369000,
    [_r("Random Access Memories", ALB, "2013-05-17")],
)
_add(
    "last-angel",
    "LAST ANGEL",
    [_a("倖田來未", " feat. ", "Koda, Kumi", "Kumi Koda"), _a("東方神起", "", "Tohoshinki", "TVXQ")],
    230240,
    [_r("LAST ANGEL", ("Single", (), "Official"), "2007-11-07")],
)
_add(
    "lemon",
    "Lemon",
    [_a("米津玄師", "", "Yonezu, Kenshi", "Kenshi Yonezu")],
    255000,
    [_r("STRAY SHEEP", ALB, "2020-08-05")],
)
_add(
    "dynamite", "Dynamite", [_a("방탄소년단", "", "BTS", "BTS", "Bangtan Boys")], 199000, [_r("BE", ALB, "2020-11-20")]
)
_add(
    "sweet-child",
    "Sweet Child o’ Mine",
    [_a("Guns N’ Roses", "", "Guns N’ Roses")],
    356000,
    [_r("Appetite for Destruction", ALB, "1987-07-21")],
)
_add("back-in-black", "Back in Black", [_a("AC/DC")], 255000, [_r("Back in Black", ALB, "1980-07-25")])
_add(
    "silence",
    "The Sound of Silence",
    [_a("Simon & Garfunkel", "", "Simon & Garfunkel")],
    185000,
    [_r("Sounds of Silence", ALB, "1966-01-17")],
)
_add("ace", "Ace of Spades", [_a("Motörhead")], 169000, [_r("Ace of Spades", ALB, "1980-11-08")])
_add("joga", "Jóga", [_a("Björk", "", "Björk")], 305000, [_r("Homogenic", ALB, "1997-09-22")])
_add(
    "blinding", "Blinding Lights", [_a("The Weeknd", "", "Weeknd, The")], 200040, [_r("After Hours", ALB, "2020-03-20")]
)
_add(
    "teen-spirit",
    "Smells Like Teen Spirit",
    [_a("Nirvana")],
    301000,
    [_r("Nevermind", ALB, "1991-09-24"), _r("Nirvana", COMP, "2002-10-28")],
)
_add(
    "teen-spirit-live",
    "Smells Like Teen Spirit",
    [_a("Nirvana")],
    290000,
    [_r("From the Muddy Banks of the Wishkah", LIVE, "1996-10-01")],
    "live, 1991-12-28: Del Mar",
)
_add("come-as", "Come as You Are", [_a("Nirvana")], 219000, [_r("Nevermind", ALB, "1991-09-24")])
_add("stairway", "Stairway to Heaven", [_a("Led Zeppelin")], 482000, [_r("Led Zeppelin IV", ALB, "1971-11-08")])
_add(
    "empire",
    "Empire State of Mind",
    [_a("JAY‐Z", " feat. ", "JAY‐Z", "Jay-Z", "Jay Z"), _a("Alicia Keys")],
    276000,
    [_r("The Blueprint 3", ALB, "2009-09-08")],
)
_add("anti-hero", "Anti‐Hero", [_a("Taylor Swift", "", "Swift, Taylor")], 200690, [_r("Midnights", ALB, "2022-10-21")])
_add("redemption", "Redemption Song", [_a("Bob Marley & The Wailers")], 227000, [_r("Uprising", ALB, "1980-06-10")])
_add(
    "piaf",
    "Non, je ne regrette rien",
    [_a("Édith Piaf", "", "Piaf, Édith")],
    139000,
    [_r("Non, je ne regrette rien", ("Single", (), "Official"), "1960")],
)
_add(
    "satisfaction",
    "(I Can’t Get No) Satisfaction",
    [_a("The Rolling Stones", "", "Rolling Stones, The")],
    223000,
    [_r("Out of Our Heads", ALB, "1965-07-30")],
)
_add("shape", "Shape of You", [_a("Ed Sheeran", "", "Sheeran, Ed")], 233712, [_r("÷", ALB, "2017-03-03")])
_add("du-hast", "Du hast", [_a("Rammstein")], 234000, [_r("Sehnsucht", ALB, "1997-08-22")])
_add("glory-box", "Glory Box", [_a("Portishead")], 301000, [_r("Dummy", ALB, "1994-08-22")])
_add(
    "take-on-me",
    "Take On Me",
    [_a("a‐ha", "", "a‐ha", "A-ha")],
    225000,
    [_r("Hunting High and Low", ALB, "1985-06-01")],
)
_add("nothing-else", "Nothing Else Matters", [_a("Metallica")], 388000, [_r("Metallica", ALB, "1991-08-12")])
_add(
    "nothing-else-live",
    "Nothing Else Matters",
    [_a("Metallica")],
    390000,
    [_r("S&M", LIVE, "1999-11-23")],
    "live, 1999-04-21: Berkeley",
)
_add("creep", "Creep", [_a("Radiohead")], 238000, [_r("Pablo Honey", ALB, "1993-02-22")])
_add("creep-acoustic", "Creep", [_a("Radiohead")], 259000, [_r("Creep EP", ("EP", (), "Official"), "1993")], "acoustic")
_add(
    "dancing",
    "Dancing With Myself",
    [_a("Billy Idol", "", "Idol, Billy")],
    290000,
    [_r("Don’t Stop", ("EP", (), "Official"), "1981")],
)
_add("river", "The River", [_a("Bruce Springsteen")], 301000, [_r("The River", ALB, "1980-10-17")])


def by_key(key: str) -> Any:
    return RECORDINGS[key]


def _tokens(text: str) -> set[str]:
    return set(fold(text).split())


def search_pool(artist: str, title: str) -> list[Any]:
    """Lenient like a Lucene OR: every recording sharing a word of the artist or of the title."""
    want_artist, want_title = _tokens(artist), _tokens(title)
    out = []
    for doc in RECORDINGS.values():
        names: set[str] = set()
        for c in doc["artist-credit"]:
            a = c["artist"]
            for form in artist_variants(a["name"], a["sort-name"], tuple(x["name"] for x in a["aliases"])):
                names |= set(form.split())
        if names & want_artist or _tokens(doc["title"]) & want_title - {"the", "of", "a", "to"}:
            out.append(doc)
    return out


def album_catalog(albums: int, tracks: int, prefix: str = "gen") -> dict[str, Any]:
    """`albums` studio albums of `tracks` recordings each (distinct artists and titles), each track also on a later
    compilation; the album first, as ListenBrainz's canonical release. By recording MBID, as the fakes take them."""
    out: dict[str, Any] = {}
    for a in range(albums):
        artist = [_a(f"{prefix.title()} Artist {a}")]
        for t in range(tracks):
            key = f"{prefix}-{a}-{t}"
            releases = [
                _r(f"{prefix} Album {a}", ALB, f"20{a:02d}-05-01"),
                _r(f"Best of {prefix} {a}", COMP, "2015-01-01"),
            ]
            doc = _doc(key, f"{prefix} Song {a} {t}", artist, 200000 + 1000 * t, releases)
            out[doc["id"]] = doc
    return out
