"""ListenBrainz: CF recommendations, top artists, LB Radio, the playlists generated for a user, recording feedback
and listen history.

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
from ..domain.recommendations import GENERATED_KINDS, CfPage, Recommendation
from ..ports import FeedbackItem, FeedbackPage, GeneratedPlaylist, ListenPage, SeedArtist

__all__ = ["ListenBrainz", "ListenBrainzFeedback", "generated_kind", "parse_listen"]

_RECORDING_URL = re.compile(r"recording/([0-9a-fA-F-]{36})")
_PLAYLIST_URL = re.compile(r"playlist/([0-9a-fA-F-]{36})")
_JSPF_PLAYLIST = "https://musicbrainz.org/doc/jspf#playlist"


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


class _FeedbackItem(_Schema):
    recording_mbid: UUID | None = None
    score: int
    created: int


class _FeedbackPayload(_Schema):
    feedback: list[_FeedbackItem] = Field(default_factory=list)
    count: int = 0
    total_count: int | None = None
    offset: int = 0


def generated_kind(playlist: dict[str, Any]) -> str | None:
    """Which generated playlist a JSPF playlist is: its algorithm's `source_patch`, else the start of its title."""
    ext = (playlist.get("extension") or {}).get(_JSPF_PLAYLIST) or {}
    meta = (ext.get("additional_metadata") or {}) if isinstance(ext, dict) else {}
    algorithm = (meta.get("algorithm_metadata") or {}) if isinstance(meta, dict) else {}
    patch = algorithm.get("source_patch") if isinstance(algorithm, dict) else None
    if patch in GENERATED_KINDS:
        return str(patch)
    if patch:
        return None  # another algorithm (daily jams, top discoveries, ...): named, and not one of ours
    title = str(playlist.get("title") or "").casefold()
    for kind, prefix in GENERATED_KINDS.items():
        if title.startswith(prefix.casefold()):
            return kind
    return None


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
        return _jspf_tracks(tracks)

    async def generated_playlists(self, user: str, token: str | None = None) -> list[GeneratedPlaylist]:
        """The Weekly Exploration and Weekly Jams playlists ListenBrainz made for `user`, newest first."""
        path = f"/1/user/{user}/playlists/createdfor"
        body = await self.client.get_json(path, {"count": 100, "offset": 0}, headers=self._headers(token))
        if body is None:
            return []
        try:
            entries = body["playlists"]
            playlists = [e["playlist"] for e in entries]
        except (KeyError, TypeError) as exc:
            raise BadResponse("listenbrainz", path, 200, "unexpected_shape", "no playlists[].playlist") from exc
        out: list[GeneratedPlaylist] = []
        for p in playlists:
            kind = generated_kind(p) if isinstance(p, dict) else None
            m = _PLAYLIST_URL.search(str(p.get("identifier") or "")) if kind else None
            if kind is None or m is None:
                continue
            out.append(
                GeneratedPlaylist(
                    mbid=UUID(m.group(1)), kind=kind, title=str(p.get("title") or ""), date=str(p.get("date") or "")
                )
            )
        out.sort(key=lambda g: g.date, reverse=True)  # ISO 8601 dates of one server sort as text
        return out

    async def playlist_tracks(self, playlist: UUID, token: str | None = None) -> list[Recommendation]:
        path = f"/1/playlist/{playlist}"
        body = await self.client.get_json(path, None, headers=self._headers(token))
        if body is None:
            return []
        try:
            tracks = body["playlist"].get("track", [])
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadResponse("listenbrainz", path, 200, "unexpected_shape", "no playlist") from exc
        return _jspf_tracks(tracks)

    async def feedback(self, user: str, score: int, offset: int, count: int, token: str | None = None) -> FeedbackPage:
        """One page of the feedback `user` gave (newest first), of one score."""
        path = f"/1/feedback/user/{user}/get-feedback"
        params = {"score": score, "offset": offset, "count": count}
        body = await self.client.get_json(path, params, headers=self._headers(token))
        if body is None:
            return FeedbackPage(items=[], complete=True)
        try:
            p = _FeedbackPayload.model_validate(body)
        except ValidationError as exc:
            raise BadResponse("listenbrainz", path, 200, "unexpected_shape", str(exc)[:300]) from exc
        items = [
            FeedbackItem(recording_mbid=f.recording_mbid, score=f.score, created=f.created)
            for f in p.feedback
            if f.recording_mbid is not None  # feedback on an unmapped listen (an MSID only): nothing to match
        ]
        return FeedbackPage(items=items, complete=len(p.feedback) < count)

    async def recording_names(
        self, mbids: list[UUID], token: str | None = None, batch: int = 50
    ) -> dict[UUID, tuple[str, str | None]]:
        """(artist credit, title) of each recording ListenBrainz knows (`/1/metadata/recording/`, `batch` a request)."""
        path = "/1/metadata/recording/"
        out: dict[UUID, tuple[str, str | None]] = {}
        for start in range(0, len(mbids), batch):
            chunk = mbids[start : start + batch]
            params = {"recording_mbids": ",".join(str(m) for m in chunk), "inc": "artist"}
            body = await self.client.get_json(path, params, headers=self._headers(token))
            if body is None:
                continue
            if not isinstance(body, dict):
                raise BadResponse("listenbrainz", path, 200, "unexpected_shape", type(body).__name__)
            for key, doc in body.items():
                artist = (doc.get("artist") or {}).get("name") if isinstance(doc, dict) else None
                mbid = _uuid_or_none(key)
                if mbid is not None and artist:
                    title = (doc.get("recording") or {}).get("name")
                    out[mbid] = (str(artist), str(title) if title else None)
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


class ListenBrainzFeedback:
    """Recording feedback (love +1 / hate -1) sent as a user. Sending goes through the write client, which never
    retries on its own: a timed-out POST may have landed, and only the sender, which asks first, sends again."""

    def __init__(self, write: ApiClient, read: ApiClient) -> None:
        self.write = write
        self.read = read

    async def send(self, token: str, recording_mbid: UUID, score: int) -> None:
        body = {"recording_mbid": str(recording_mbid), "score": score}
        await self.write.request(
            "POST", "/1/feedback/recording-feedback", json_body=body, headers={"Authorization": f"Token {token}"}
        )

    async def score_of(self, user: str, token: str, recording_mbid: UUID) -> int:
        """The score `user` gave the recording now (0: none)."""
        path = f"/1/feedback/user/{user}/get-feedback-for-recordings"
        body = await self.read.get_json(
            path, {"recording_mbids": str(recording_mbid)}, headers={"Authorization": f"Token {token}"}
        )
        try:
            found = [f for f in (body or {}).get("feedback", []) if f.get("recording_mbid") == str(recording_mbid)]
            return int(found[0]["score"]) if found else 0
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadResponse("listenbrainz", path, 200, "unexpected_shape", "feedback[]") from exc


def _jspf_tracks(tracks: Any) -> list[Recommendation]:
    out: list[Recommendation] = []
    for i, track in enumerate(tracks if isinstance(tracks, list) else [tracks]):
        if not isinstance(track, dict):
            continue
        mbid = _recording_mbid(track.get("identifier"))
        if mbid is None:
            continue
        out.append(
            Recommendation(recording_mbid=mbid, position=i, artist=track.get("creator"), title=track.get("title"))
        )
    return out


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
