"""Where a run's candidates come from: CF from the stored offset with retrain detection, the playlists ListenBrainz
generated for the user (Weekly Exploration, Weekly Jams), and LB Radio seeded from the user's top artists; each
picks up to its share through the run's `Screener`."""

from __future__ import annotations

import logging
from dataclasses import replace
from itertools import zip_longest

from contracts.common import CandidateSource
from contracts.ingest import ModelRetrained, RecommendationRunStarted
from contracts.livesettings import UserAccounts

from ..config import RunConfig
from ..domain.recommendations import (
    GENERATED_KINDS,
    CfCursor,
    CfPage,
    Recommendation,
    Selection,
    detect_retrain,
    marker_of,
)
from ..ports import EventPublisher, GeneratedPlaylist, RecommendationSource, SeedArtist
from .screening import Screen, Screener

__all__ = ["RunSources", "radio_prompt"]

log = logging.getLogger(__name__)


def radio_prompt(seeds: list[SeedArtist]) -> str:
    """An LB Radio prompt from seed artists: their MBIDs where known (as LB Radio advises), else their names."""
    terms = []
    for a in seeds:
        ref = a.mbid or a.name.replace("(", " ").replace(")", " ").strip()
        terms.append(f"artist:({ref})")
    return " ".join(terms)


class RunSources:
    def __init__(self, source: RecommendationSource, publisher: EventPublisher, screener: Screener) -> None:
        self.source = source
        self.publisher = publisher
        self.screener = screener

    async def cf(
        self,
        lb_user: str,
        acc: UserAccounts,
        cfg: RunConfig,
        cursor: CfCursor,
        quota: int,
        selection: Selection,
        started: RecommendationRunStarted,
        screen: Screen,
    ) -> tuple[list[Recommendation], CfCursor, bool, bool]:
        token = acc.listenbrainz_token
        page = await self.source.cf_page(lb_user, cursor.offset, cfg.cf_page_size, token)
        if page is None:  # 204: no recommendations for this user yet; not an error
            return [], cursor, True, False
        head = page.items[0] if page.offset == 0 and page.items else None
        if head is None and not (page.model_id or page.last_updated):
            head_page = page if page.offset == 0 else await self.source.cf_page(lb_user, 0, 1, token)
            head = head_page.items[0] if head_page and head_page.items else None
        marker = marker_of(page, head)
        retrain = detect_retrain(cursor, marker)
        if retrain is not None:
            await self.publisher.publish(
                ModelRetrained.caused_by(
                    started,
                    marker_kind=retrain.new.kind,
                    old_marker=retrain.old.value if retrain.old else None,
                    new_marker=retrain.new.value,
                    old_offset=retrain.old_offset,
                )
            )
            log.info(
                "CF model of %s retrained (%s → %s): back to offset 0 from %d",
                lb_user,
                retrain.old.value if retrain.old else None,
                retrain.new.value,
                retrain.old_offset,
            )
            cursor = replace(cursor, offset=0)
            if page.offset != 0:
                refetched = await self.source.cf_page(lb_user, 0, cfg.cf_page_size, token)
                page = refetched if refetched is not None else CfPage(offset=0, items=[])
        cursor = replace(cursor, marker=marker or cursor.marker)
        chosen: list[Recommendation] = []
        deferred: list[Recommendation] = []  # by hated artists: taken only once CF has nothing else in this run
        pages = 1
        while True:
            items = await self.screener.named(page.items, token, screen)
            picked, consumed, held = await self.screener.pick(
                lb_user, items, quota - len(chosen), selection, screen, CandidateSource.CF, fill_deferred=False
            )
            chosen += picked
            deferred += held
            cursor = replace(cursor, offset=page.offset + consumed)
            at_end = len(page.items) < cfg.cf_page_size or (page.total is not None and cursor.offset >= page.total)
            if len(chosen) >= quota:
                return chosen, cursor, False, retrain is not None
            if at_end or pages >= cfg.cf_max_pages:
                break
            next_page = await self.source.cf_page(lb_user, cursor.offset, cfg.cf_page_size, token)
            pages += 1
            if next_page is None or not next_page.items:
                at_end = True
                break
            page = next_page
        for item in deferred:
            if len(chosen) >= quota:
                break
            if selection.admit(item.recording_mbid, False):
                chosen.append(item)
        return chosen, cursor, at_end and len(chosen) < quota, retrain is not None

    async def radio(
        self,
        lb_user: str,
        acc: UserAccounts,
        cfg: RunConfig,
        cursor: CfCursor,
        quota: int,
        selection: Selection,
        screen: Screen,
    ) -> tuple[list[Recommendation], CfCursor]:
        token = acc.listenbrainz_token
        artists = await self.source.top_artists(lb_user, cfg.radio_top_artists, cfg.radio_stats_range, token)
        if not artists:
            log.info("no top artists for %s yet: no radio seeds", lb_user)
            return [], cursor
        start = cursor.radio_rotation % len(artists)
        count = min(cfg.radio_seed_artists, len(artists))
        seeds = [artists[(start + i) % len(artists)] for i in range(count)]
        tracks = await self.source.lb_radio(radio_prompt(seeds), cfg.radio_mode, token)
        chosen, _, _ = await self.screener.pick(lb_user, tracks, quota, selection, screen, CandidateSource.RADIO)
        return chosen, replace(cursor, radio_rotation=(start + count) % len(artists))

    async def playlists(
        self, lb_user: str, acc: UserAccounts, quota: int, selection: Selection, screen: Screen
    ) -> tuple[list[Recommendation], list[Recommendation]]:
        """The newest Weekly Exploration and Weekly Jams, taken in turns; returns the pick and the tracks left over
        (for a short radio)."""
        token = acc.listenbrainz_token
        newest: dict[str, GeneratedPlaylist] = {}
        for playlist in await self.source.generated_playlists(lb_user, token):  # newest first
            newest.setdefault(playlist.kind, playlist)
        if not newest:
            log.info("no generated playlists for %s yet", lb_user)
            return [], []
        lists = [
            await self.source.playlist_tracks(newest[kind].mbid, token) for kind in GENERATED_KINDS if kind in newest
        ]
        merged = [t for group in zip_longest(*lists) for t in group if t is not None]
        merged = [replace(t, position=i) for i, t in enumerate(merged)]
        chosen, consumed, deferred = await self.screener.pick(
            lb_user, merged, quota, selection, screen, CandidateSource.PLAYLISTS
        )
        return chosen, merged[consumed:] + deferred
