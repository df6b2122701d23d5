"""ListenBrainz: CF recommendations, top artists, LB Radio and listen history.

HTTP schemas (the shapes ListenBrainz sends) are kept here and turned into domain types; a body that does not fit
its schema is a `BadResponse` of the source, like an HTML page or truncated JSON.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from infra.http import ApiClient, BadResponse

from ..domain.listens import Listen
from ..domain.recommendations import CfPage, Recommendation
from ..ports import ListenPage, SeedArtist

__all__ = ["ListenBrainz", "parse_listen"]

_RECORDING_URL = re.compile(r"recording/([0-9a-fA-F-]{36})")


class _Schema(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _CfItem(_Schema):
    recording_mbid: UUID
    score: float | None = None


class _CfPayload(_Schema):
    mbids: list[_CfItem] = Field(default_factory=list)
    offset: int = 0
    total_mbid_count: int | None = None
    last_updated: int | str | None = None
    model_id: str | None = None


class _StatsArtist(_Schema):
    artist_name: str
    artist_mbid: str | None = None
    artist_mbids: list[str] | None = None


class _StatsPayload(_Schema):
    artists: list[_StatsArtist] = Field(default_factory=list)


class _ListensPayload(_Schema):
    count: int = 0
    listens: list[dict[str, Any]] = Field(default_factory=list)


def _payload(body: Any, schema: type[_Schema], endpoint: str) -> Any:
    try:
        return schema.model_validate(body["payload"])
    except (KeyError, TypeError, ValidationError) as exc:
        raise BadResponse("listenbrainz", endpoint, 200, "unexpected_shape", str(exc)[:300]) from exc


class ListenBrainz:
    """One ListenBrainz account's view of the API (the token, when given, goes with every call)."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client

    def _headers(self, token: str | None) -> dict[str, str] | None:
        return {"Authorization": f"Token {token}"} if token else None

    async def cf_page(self, user: str, offset: int, count: int, token: str | None = None) -> CfPage | None:
        """One page of CF recommendations; None when ListenBrainz has none for the user yet (HTTP 204)."""
        path = f"/1/cf/recommendation/user/{user}/recording"
        body = await self.client.get_json(path, {"offset": offset, "count": count}, headers=self._headers(token))
        if body is None:
            return None
        p: _CfPayload = _payload(body, _CfPayload, path)
        items = [
            Recommendation(recording_mbid=m.recording_mbid, position=offset + i, score=m.score)
            for i, m in enumerate(p.mbids)
        ]
        last_updated = str(p.last_updated) if p.last_updated is not None else None
        return CfPage(
            offset=offset, items=items, total=p.total_mbid_count, model_id=p.model_id, last_updated=last_updated
        )

    async def top_artists(self, user: str, count: int, range_: str, token: str | None = None) -> list[SeedArtist]:
        path = f"/1/stats/user/{user}/artists"
        body = await self.client.get_json(path, {"count": count, "range": range_}, headers=self._headers(token))
        if body is None:  # 204: statistics not calculated yet
            return []
        p: _StatsPayload = _payload(body, _StatsPayload, path)
        out = []
        for a in p.artists:
            mbid = a.artist_mbid or (a.artist_mbids[0] if a.artist_mbids else None)
            out.append(SeedArtist(name=a.artist_name, mbid=mbid or None))
        return out

    async def lb_radio(self, prompt: str, mode: str, token: str | None = None) -> list[Recommendation]:
        path = "/1/explore/lb-radio"
        body = await self.client.get_json(path, {"prompt": prompt, "mode": mode}, headers=self._headers(token))
        if body is None:
            return []
        try:
            tracks = body["payload"]["jspf"]["playlist"].get("track", [])
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadResponse("listenbrainz", path, 200, "unexpected_shape", "no payload.jspf.playlist") from exc
        out: list[Recommendation] = []
        for i, track in enumerate(tracks if isinstance(tracks, list) else [tracks]):
            mbid = _recording_mbid(track.get("identifier"))
            if mbid is None:
                continue
            out.append(
                Recommendation(recording_mbid=mbid, position=i, artist=track.get("creator"), title=track.get("title"))
            )
        return out

    async def listens(self, user: str, min_ts: int, count: int, token: str | None = None) -> ListenPage:
        """The `count` oldest listens after `min_ts` (ListenBrainz answers them newest first)."""
        path = f"/1/user/{user}/listens"
        body = await self.client.get_json(path, {"min_ts": min_ts, "count": count}, headers=self._headers(token))
        if body is None:
            return ListenPage(listens=[], complete=True)
        p: _ListensPayload = _payload(body, _ListensPayload, path)
        listens = []
        for raw in p.listens:
            try:
                listens.append(parse_listen(raw))
            except (KeyError, TypeError, ValueError) as exc:
                raise BadResponse("listenbrainz", path, 200, "unexpected_shape", f"listen: {exc}") from exc
        return ListenPage(listens=listens, complete=len(p.listens) < count)


def _recording_mbid(identifier: Any) -> UUID | None:
    for ident in identifier if isinstance(identifier, list) else [identifier]:
        m = _RECORDING_URL.search(str(ident or ""))
        if m:
            return UUID(m.group(1))
    return None


def _uuid_or_none(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def parse_listen(raw: dict[str, Any]) -> Listen:
    meta = raw["track_metadata"]
    info = meta.get("additional_info") or {}
    mapping = meta.get("mbid_mapping") or {}
    listened_at = int(raw["listened_at"])
    msid = raw.get("recording_msid") or info.get("recording_msid") or ""
    artist, title = str(meta["artist_name"]), str(meta["track_name"])
    mbid = _uuid_or_none(mapping.get("recording_mbid")) or _uuid_or_none(info.get("recording_mbid"))
    duration = info.get("duration_ms") or (int(info["duration"]) * 1000 if info.get("duration") else None)
    ids = {"recording_msid": msid} if msid else {}
    for key in ("spotify_id", "release_msid", "artist_msid"):
        if info.get(key):
            ids[key] = str(info[key])
    return Listen(
        source="listenbrainz",
        listened_at=datetime.fromtimestamp(listened_at, UTC),
        artist=artist,
        title=title,
        album=meta.get("release_name") or None,
        duration_ms=int(duration) if duration else None,
        recording_mbid=mbid,
        isrc=info.get("isrc") or None,
        play_identity=f"{listened_at}:{msid or artist + '/' + title}",
        source_ids=ids,
        raw=raw,
    )
