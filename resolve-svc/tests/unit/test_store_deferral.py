"""A busy store defers the track while deliveries remain; on the last one the chain goes on to the next source."""

from __future__ import annotations

import pytest
from resolve_fakes import DictAlbums

from infra.runtime import Defer
from resolve_svc.adapters.commercial import BudgetExhausted
from resolve_svc.chain import AlbumChain
from resolve_svc.domain.albums import AlbumConfig
from resolve_svc.domain.model import Artist, CommercialHit, Query, Recording, Release

REC = Recording(
    "m",
    "Hoppípolla",
    (Artist("Sigur Rós"),),
    268000,
    releases=(Release("Takk…", release_group_mbid="rg-takk", primary_type="Album", status="Official", date="2005"),),
)


class BusyStore:
    name = "itunes"

    async def search(self, rec: Recording) -> list[CommercialHit]:
        raise BudgetExhausted("itunes slot in 12.0s", 11.5, reserved=True)


class Deezer:
    name = "deezer"

    async def search(self, rec: Recording) -> list[CommercialHit]:
        return [CommercialHit("deezer", "Sigur Ros", "Hoppipolla", "Takk...", 268000, cover_url="http://127.0.0.1:9/c")]


class NoMusicBrainz:
    async def lookup(self, mbid: str) -> Recording | None:
        return None

    async def by_isrc(self, isrc: str) -> list[Recording]:
        return []

    async def search(self, query: Query) -> list[Recording]:
        return []


class NoCovers:
    async def front(self, entity: str, mbid: str) -> tuple[str, int | None] | None:
        return None


class AllImages:
    async def is_image(self, url: str) -> bool:
        return True


def chain(albums: DictAlbums) -> AlbumChain:
    return AlbumChain([BusyStore(), Deezer()], NoMusicBrainz(), NoCovers(), AllImages(), AlbumConfig(), albums)


async def test_a_busy_store_defers_the_track_and_remembers_nothing() -> None:
    albums = DictAlbums()
    with pytest.raises(Defer) as deferred:
        await chain(albums).choose(REC, may_defer=True)
    assert deferred.value.delay_s == 11.5 and "itunes" in deferred.value.reason
    assert albums.data == {}  # nothing chosen yet, so nothing fixed for the release group


async def test_on_the_last_delivery_the_next_source_answers_with_a_note() -> None:
    albums = DictAlbums()
    choice, _ = await chain(albums).choose(REC, may_defer=False)
    assert (choice.album, choice.source) == ("Takk...", "deezer")
    assert any("itunes skipped" in n and "last delivery" in n for n in choice.notes), choice.notes
    assert albums.data["rg-takk"]["album"] == "Takk..."  # the store's diacritic-less answer was valid
