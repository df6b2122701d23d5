"""Where plays are sent on: ListenBrainz `submit-listens` and Last.fm `track.scrobble` / `track.updateNowPlaying`.

Each target can also say whether a play already landed (`landed`): the forwarder asks before sending again a play
whose earlier send was cut off before its answer was recorded, so a crash or a timeout never submits twice.

Last.fm goes through `infra.http` rather than pylast: pylast builds `https://{host}` itself (no loopback fake, no
configurable base URL) and is synchronous with its own sleeps; the calls here are three signed form posts.
Write clients never retry on their own: a timed-out POST may have landed, and only the forwarder, which asks the
target first, may send it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from infra.http import ApiClient, BadResponse, ClientError, NotFound

from .lastfm import _body_error, _error, _json_or_none

__all__ = ["SUBMISSION_CLIENT", "LastfmTarget", "ListenBrainzTarget", "OutgoingPlay", "lastfm_signature"]

SUBMISSION_CLIENT = "BrainStream"


@dataclass(frozen=True)
class OutgoingPlay:
    listen_id: UUID
    listened_at: int
    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = None
    recording_mbid: UUID | None = None
    isrc: str | None = None
    client: str | None = None


class ListenBrainzTarget:
    name = "listenbrainz"

    def __init__(self, client: ApiClient, version: str) -> None:
        self.client = client
        self.version = version

    def _metadata(self, play: OutgoingPlay) -> dict[str, Any]:
        info: dict[str, Any] = {"submission_client": SUBMISSION_CLIENT, "submission_client_version": self.version}
        if play.recording_mbid:
            info["recording_mbid"] = str(play.recording_mbid)
        if play.duration_ms:
            info["duration_ms"] = play.duration_ms
        if play.isrc:
            info["isrc"] = play.isrc
        if play.client:
            info["media_player"] = play.client
        meta: dict[str, Any] = {"artist_name": play.artist, "track_name": play.title, "additional_info": info}
        if play.album:
            meta["release_name"] = play.album
        return meta

    async def submit(self, token: str, play: OutgoingPlay) -> None:
        body = {"listen_type": "single", "payload": [{"listened_at": play.listened_at, **self._track(play)}]}
        await self.client.request("POST", "/1/submit-listens", json_body=body, headers=_auth(token))

    async def now_playing(self, token: str, play: OutgoingPlay) -> None:
        body = {"listen_type": "playing_now", "payload": [self._track(play)]}
        await self.client.request("POST", "/1/submit-listens", json_body=body, headers=_auth(token))

    def _track(self, play: OutgoingPlay) -> dict[str, Any]:
        return {"track_metadata": self._metadata(play)}

    async def landed(self, user: str, token: str, play: OutgoingPlay) -> bool:
        path = f"/1/user/{user}/listens"
        params = {"min_ts": play.listened_at - 1, "max_ts": play.listened_at + 1, "count": 100}
        body = await self.client.get_json(path, params, headers=_auth(token))
        try:
            listens = body["payload"]["listens"] if body else []
        except (KeyError, TypeError) as exc:
            raise BadResponse("listenbrainz", path, 200, "unexpected_shape", str(exc)) from exc
        return any(
            int(item.get("listened_at", -1)) == play.listened_at
            and (item.get("track_metadata") or {}).get("track_name") == play.title
            for item in listens
        )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def lastfm_signature(params: dict[str, str], secret: str) -> str:
    """Last.fm's `api_sig`: md5 of every parameter but `format`/`callback`, sorted, name then value, then the
    secret (https://www.last.fm/api/authspec)."""
    text = "".join(k + params[k] for k in sorted(params) if k not in ("format", "callback")) + secret
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class LastfmTarget:
    name = "lastfm"

    def __init__(self, client: ApiClient, api_key: str | None, api_secret: str | None) -> None:
        self.client = client
        self.api_key = api_key
        self.api_secret = api_secret

    async def _post(self, method: str, session_key: str, fields: dict[str, str]) -> Any:
        if not (self.api_key and self.api_secret):
            raise ClientError("lastfm", method, None, "unauthorized", "BRAINSTREAM_LASTFM_API_KEY/SECRET not set")
        params = {**fields, "method": method, "api_key": self.api_key, "sk": session_key}
        params["api_sig"] = lastfm_signature(params, self.api_secret)
        params["format"] = "json"
        try:
            resp = await self.client.request("POST", "/", data=params)
        except (ClientError, NotFound) as exc:  # Last.fm's 4xx carry the error body
            err = _body_error(_json_or_none(exc.detail))
            raise (_error(err[0], err[1], exc.status) if err else exc) from exc
        body = self.client.decode_json(resp, method)
        err = _body_error(body)
        if err is not None:
            raise _error(err[0], err[1], resp.status_code)  # 29 and 11/16 are SourceUnavailable: retried
        return body

    @staticmethod
    def _fields(play: OutgoingPlay) -> dict[str, str]:
        fields = {"artist": play.artist, "track": play.title}
        if play.album:
            fields["album"] = play.album
        if play.duration_ms:
            fields["duration"] = str(play.duration_ms // 1000)
        if play.recording_mbid:
            fields["mbid"] = str(play.recording_mbid)
        return fields

    async def submit(self, session_key: str, play: OutgoingPlay) -> None:
        fields = {**self._fields(play), "timestamp": str(play.listened_at)}
        body = await self._post("track.scrobble", session_key, fields)
        attr = ((body or {}).get("scrobbles") or {}).get("@attr") or {}
        if str(attr.get("accepted", "1")) == "0" and str(attr.get("ignored", "0")) != "0":
            # ignored (too old, bad timestamp): an answer, not a fault; retrying cannot change it
            raise ClientError("lastfm", "track.scrobble", 200, "ignored", str(body)[:300])

    async def now_playing(self, session_key: str, play: OutgoingPlay) -> None:
        await self._post("track.updateNowPlaying", session_key, self._fields(play))

    async def landed(self, user: str, session_key: str, play: OutgoingPlay) -> bool:
        params = {
            "method": "user.getrecenttracks",
            "user": user,
            "api_key": self.api_key or "",
            "from": str(play.listened_at),
            "to": str(play.listened_at + 1),
            "limit": "10",
            "format": "json",
        }
        body = await self.client.get_json("/", params)
        tracks = ((body or {}).get("recenttracks") or {}).get("track") or []
        tracks = tracks if isinstance(tracks, list) else [tracks]
        return any(
            str((t.get("date") or {}).get("uts")) == str(play.listened_at) and t.get("name") == play.title
            for t in tracks
            if isinstance(t, dict)
        )
