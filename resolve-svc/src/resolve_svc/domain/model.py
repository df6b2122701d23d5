"""Domain types of resolution: what a source says about a recording, kept apart from wire contracts and HTTP JSON."""

from __future__ import annotations

from dataclasses import dataclass, field

from .text import fold, is_live, looks_like_live_album

__all__ = ["Artist", "CommercialHit", "Query", "Recording", "Release", "credit_text"]


@dataclass(frozen=True)
class Artist:
    name: str
    join_phrase: str = ""
    mbid: str | None = None
    sort_name: str | None = None
    aliases: tuple[str, ...] = ()


def credit_text(credit: tuple[Artist, ...]) -> str:
    return "".join(a.name + a.join_phrase for a in credit).strip()


@dataclass(frozen=True)
class Release:
    """One release a recording appears on, with its release group's type (MusicBrainz or ListenBrainz)."""

    title: str
    mbid: str | None = None
    release_group_mbid: str | None = None
    primary_type: str | None = None
    secondary_types: tuple[str, ...] = ()
    status: str | None = None
    date: str | None = None
    """YYYY, YYYY-MM or YYYY-MM-DD; the release group's first release date when known."""
    artist: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    caa_release_mbid: str | None = None

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date and self.date[:4].isdigit() else None


@dataclass(frozen=True)
class Recording:
    mbid: str
    title: str
    credit: tuple[Artist, ...]
    length_ms: int | None = None
    disambiguation: str = ""
    isrcs: tuple[str, ...] = ()
    releases: tuple[Release, ...] = ()
    first_release_date: str | None = None
    genres: tuple[str, ...] = ()
    releases_known: bool = True
    """False when the source (ListenBrainz) named only one canonical release, without release-group types."""

    @property
    def artist(self) -> str:
        return credit_text(self.credit)

    @property
    def live(self) -> bool:
        """A live take: said by its title or disambiguation, or by every release it is on being live.

        ListenBrainz gives neither disambiguation nor release-group types, only its canonical release: a live title
        there ("Live at Wembley '86") is the hint, so a studio store hit is not taken for a live recording.
        """
        if is_live(self.title) or "live" in fold(self.disambiguation).split():
            return True
        if self.releases and all("Live" in r.secondary_types for r in self.releases):
            return True
        return not self.releases_known and any(looks_like_live_album(r.title) for r in self.releases)


@dataclass(frozen=True)
class Query:
    """Cleaned text of what is wanted (no MBID: a known MBID never goes through fuzzy matching)."""

    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = None
    live: bool = False


@dataclass(frozen=True)
class CommercialHit:
    """One track of an iTunes or Deezer search answer."""

    source: str
    artist: str
    title: str
    album: str
    duration_ms: int | None = None
    album_artist: str | None = None
    cover_url: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    release_date: str | None = None
    collection_type: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
