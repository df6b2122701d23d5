"""External recordings and artists → what the library holds: recording MBID first, then artist and title.

Only library tracks are ever answered, so a client can play every song it gets. A text match needs the folded
artist and title to be equal, not merely similar: a wrong song in an instant mix is worse than a shorter mix. Both
lookups use indexes: an artist's id derives from its folded name, so the artist's tracks are one index range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, select

from ..adapters.schema import artist_t, track_t
from ..domain.ids import artist_id, fold

__all__ = ["LibraryMatch"]


def _words(text: str) -> list[str]:
    # the words the `search` column holds (see api.reads.parse_query)
    return "".join(c if c.isalnum() else " " for c in fold(text)).split()


class LibraryMatch:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, stmt: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).all())

    def artist_by_name(self, name: str) -> Any | None:
        # an artist's id is derived from its folded name: a primary-key lookup, whatever the library's size
        rows = self._all(select(artist_t).where(artist_t.c.id == artist_id(name)))
        return rows[0] if rows else None

    def artists_by_mbid(self, mbids: Sequence[str]) -> list[Any]:
        wanted = [m for m in dict.fromkeys(mbids) if m]
        if not wanted:
            return []
        found = {r.mbid: r for r in self._all(select(artist_t).where(artist_t.c.mbid.in_(wanted)))}
        return [found[m] for m in wanted if m in found]

    def tracks(self, wanted: Sequence[dict[str, Any]], limit: int) -> list[Any]:
        """Library tracks for external recordings (`recording_mbid`, `artist`, `title`), in their order, once each."""
        mbids = [w["recording_mbid"] for w in wanted if w.get("recording_mbid")]
        by_mbid: dict[str, Any] = {}
        for i in range(0, len(mbids), 500):
            for r in self._all(select(track_t).where(track_t.c.recording_mbid.in_(mbids[i : i + 500]))):
                by_mbid.setdefault(r.recording_mbid, r)
        out: dict[str, Any] = {}
        for w in wanted:
            if len(out) >= limit:
                break
            row = by_mbid.get(w.get("recording_mbid") or "")
            if row is None and w.get("title") and w.get("artist"):
                row = self._by_text(w["artist"], w["title"])
            if row is not None:
                out.setdefault(row.id, row)
        return list(out.values())

    def _by_text(self, artist: str, title: str) -> Any | None:
        """The artist's tracks (an index range: the artist id comes from the name) with the same folded title."""
        want = _words(title)
        if not want:
            return None
        stmt = select(track_t).where(track_t.c.artist_id == artist_id(artist)).order_by(track_t.c.artist_id)
        return next((t for t in self._all(stmt) if _words(t.title) == want), None)
