"""The album chain iTunes → Deezer → MusicBrainz → "Unknown Album", and the cover that goes with it.

Cover Art Archive is asked only when no commercial source matched: MusicBrainz's first release is often a
compilation or a live album, and its art would then be wrong for the studio track a store already identified.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from contracts.common import AlbumSource, CoverRef, CoverSource
from infra.http import ExternalError, SourceUnavailable
from infra.runtime import Defer
from infra.textfold import is_latin

from .adapters.commercial import BudgetExhausted
from .domain.albums import AlbumConfig, best_commercial, best_release, largest_itunes_cover
from .domain.model import CommercialHit, Recording, Release
from .domain.scoring import release_type_penalty
from .domain.text import CleanText, fold, similarity
from .ports import AlbumMemory, AlbumSearch, CoverArchive, ImageCheck, RecordingSource

__all__ = ["AlbumChain", "AlbumChoice"]

log = logging.getLogger(__name__)


@dataclass
class AlbumChoice:
    album: str
    source: AlbumSource
    album_artist: str
    release: Release | None = None
    hit: CommercialHit | None = None
    cover: CoverRef | None = None
    notes: list[str] = field(default_factory=list)
    date: str | None = None
    """The album's date (YYYY[-MM[-DD]]): the same for every track of the release group."""
    release_group_mbid: str | None = None


class AlbumChain:
    def __init__(
        self,
        commercial: list[AlbumSearch],
        musicbrainz: RecordingSource,
        caa: CoverArchive,
        images: ImageCheck,
        cfg: AlbumConfig,
        memory: AlbumMemory,
    ) -> None:
        self.commercial = commercial
        self.musicbrainz = musicbrainz
        self.caa = caa
        self.images = images
        self.cfg = cfg
        self.memory = memory

    async def choose(self, rec: Recording, *, may_defer: bool = False) -> tuple[AlbumChoice, Recording]:
        """The album and cover; returns the recording too, completed from MusicBrainz when that was needed.

        Raises `Defer` when a store is only busy and `may_defer` (the delivery is not the last one)."""
        notes: list[str] = []
        if not rec.releases_known and _needs_aliases(rec):
            # a name in another script: the stores may spell it in Latin, and MusicBrainz's aliases say how
            full = await self.musicbrainz.lookup(rec.mbid)
            if full is not None:
                rec = _merge(rec, full)
                notes.append("musicbrainz: looked up for the artist's aliases (a name in another script)")
        # an album is remembered only under the release group its name was matched to, so finding one under the
        # release the track is on (ListenBrainz's canonical one, or MusicBrainz's best) means the track is on it
        canonical = best_release(rec.releases)
        if canonical is not None and canonical.release_group_mbid:
            known = await self.memory.get(canonical.release_group_mbid)
            if known is not None:
                return _join(known, rec, canonical.release_group_mbid, notes), rec
        choice, rec = await self._choose(rec, notes, may_defer)
        if choice.release is None and choice.hit is not None and not rec.releases_known:
            # which release group is the store's album? ListenBrainz's one release did not say
            full = await self.musicbrainz.lookup(rec.mbid)
            if full is not None:
                rec = _merge(rec, full)
                choice.release = _same_album(rec, choice.hit)
        group = choice.release.release_group_mbid if choice.release is not None else None
        release = choice.release
        choice.date = (release.date if release and release.date else None) or rec.first_release_date
        if not choice.date and choice.hit is not None:
            choice.date = choice.hit.release_date
        if not group:
            return choice, rec
        choice.release_group_mbid = group
        mine = _remember(choice)
        held = await self.memory.claim(group, mine)
        if held != mine:  # another replica chose this release group's album a moment before
            return _join(held, rec, group, choice.notes), rec
        return choice, rec

    async def _choose(self, rec: Recording, notes: list[str], may_defer: bool) -> tuple[AlbumChoice, Recording]:
        main_artist = rec.credit[0].name if rec.credit else rec.artist
        for source in self.commercial:
            try:
                hits = await source.search(rec)
            except BudgetExhausted as exc:
                if may_defer:
                    raise Defer(exc.retry_in_s, str(exc)) from exc
                notes.append(f"{source.name} skipped: {exc} (still busy on the track's last delivery)")
                continue
            except ExternalError as exc:  # a fault or refusal of an optional source: the next one answers
                notes.append(f"{source.name} skipped: {exc.reason} ({exc.status or 'no status'})")
                continue
            hit, rejected = best_commercial(hits, rec, self.cfg)
            if hit is None:
                why = f"; rejected: {'; '.join(rejected[:3])}" if rejected else ""
                notes.append(f"{source.name}: no valid match among {len(hits)} results{why}")
                continue
            notes.append(f"{source.name}: album {hit.album!r} (artist, title and duration validated)")
            choice = AlbumChoice(hit.album, AlbumSource(source.name), main_artist, _same_album(rec, hit), hit)
            choice.cover = await self._commercial_cover(hit, notes)
            choice.notes = notes
            return choice, rec
        if not rec.releases_known:
            # ListenBrainz names one release without its type; the album choice needs every release group
            full = await self.musicbrainz.lookup(rec.mbid)
            if full is not None:
                rec = _merge(rec, full)
        release = best_release(rec.releases)
        if release is None:
            notes.append("no album: no commercial match and no MusicBrainz release")
            return AlbumChoice("Unknown Album", AlbumSource.UNKNOWN, main_artist, notes=notes), rec
        kind = "/".join([release.primary_type or "?", *release.secondary_types])
        notes.append(f"musicbrainz: release group {release.title!r} ({kind}, {release.status or 'no status'})")
        choice = AlbumChoice(release.title, AlbumSource.MUSICBRAINZ, release.artist or main_artist, release)
        choice.cover = await self._archive_cover(release, notes)
        choice.notes = notes
        return choice, rec

    async def _commercial_cover(self, hit: CommercialHit, notes: list[str]) -> CoverRef | None:
        if not hit.cover_url:
            notes.append(f"{hit.source} gave no cover")
            return None
        source = CoverSource(hit.source)
        candidates: list[tuple[str, int | None]] = []
        if hit.source == "itunes":
            candidates.append(largest_itunes_cover(hit.cover_url, self.cfg.itunes_cover_size))
        elif hit.source == "deezer":
            candidates.append((hit.cover_url, 1000 if "1000x1000" in hit.cover_url else None))
        candidates.append((hit.cover_url, None))
        for url, size in dict.fromkeys(candidates):
            if await self.images.is_image(url):
                return CoverRef(url=url, source=source, width=size, height=size)
        notes.append(f"{hit.source} cover is not an image")
        return None

    async def _archive_cover(self, release: Release, notes: list[str]) -> CoverRef | None:
        targets = [("release-group", release.release_group_mbid), ("release", release.caa_release_mbid)]
        for entity, mbid in targets:
            if not mbid:
                continue
            try:
                front = await self.caa.front(entity, mbid)
            except SourceUnavailable as exc:
                notes.append(f"coverartarchive skipped: {exc.reason}")
                return None
            if front is None:
                continue
            url, size = front
            if await self.images.is_image(url):
                return CoverRef(url=url, source=CoverSource.COVERARTARCHIVE, width=size, height=size)
            notes.append("coverartarchive front is not an image")
        notes.append("no cover found")
        return None


def _same_album(rec: Recording, hit: CommercialHit) -> Release | None:
    """The MusicBrainz release the store's album corresponds to, when names agree (for the release-group MBID)."""
    wanted = CleanText.core(hit.album)  # "Album (Remastered)" and "Album [Deluxe]" name the album "Album"
    for release in sorted(rec.releases, key=lambda r: release_type_penalty(r)):
        if (
            similarity(fold(release.title), fold(hit.album)) >= 0.9
            or similarity(CleanText.core(release.title), wanted) >= 0.9
        ):
            return release
    return None


def _needs_aliases(rec: Recording) -> bool:
    return any(not is_latin(a.name) and not a.aliases for a in rec.credit)


def _remember(choice: AlbumChoice) -> dict[str, Any]:
    cover = choice.cover.model_dump(mode="json") if choice.cover is not None else None
    return {
        "album": choice.album,
        "album_artist": choice.album_artist,
        "source": choice.source.value,
        "date": choice.date,
        "cover": cover,
    }


def _join(known: dict[str, Any], rec: Recording, group: str, notes: list[str]) -> AlbumChoice:
    """The album this release group already has; the track's own MusicBrainz release on it gives its number."""
    release = next((r for r in rec.releases if r.release_group_mbid == group), None)
    cover = CoverRef.model_validate(known["cover"]) if known.get("cover") else None
    note = f"album {known['album']!r} ({known['source']}) already chosen for release group {group}: joined it"
    return AlbumChoice(
        album=known["album"],
        source=AlbumSource(known["source"]),
        album_artist=known["album_artist"],
        release=release,
        cover=cover,
        notes=[*notes, note],
        date=known.get("date"),
        release_group_mbid=group,
    )


def _merge(lb: Recording, mb: Recording) -> Recording:
    return Recording(
        mbid=lb.mbid,
        title=mb.title or lb.title,
        credit=mb.credit or lb.credit,
        length_ms=mb.length_ms or lb.length_ms,
        disambiguation=mb.disambiguation,
        isrcs=mb.isrcs,
        releases=mb.releases,
        first_release_date=mb.first_release_date or lb.first_release_date,
        genres=lb.genres or mb.genres,
        releases_known=True,
    )
