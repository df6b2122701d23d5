"""Spotify `me/player/recently-played`, with the refresh-token flow.

An access token is obtained from the accounts service with the user's refresh token and cached until shortly before
it expires; a 401 from the API (token revoked or expired early) refreshes once and retries. Spotify keeps only the
last 50 plays, so a poll interval well under the time 50 tracks take is what keeps this source complete.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.livesettings import UserAccounts
from infra.http import ApiClient, BadResponse, ClientError

from ..domain.listens import Listen

__all__ = ["SpotifyFeed", "parse_recently_played"]

ENDPOINT = "/me/player/recently-played"
LIMIT = 50
MAX_PAGES = 20


@dataclass
class _Token:
    value: str
    expires_at: float


def parse_recently_played(body: Any) -> tuple[list[Listen], str | None]:
    """The listens of one page (oldest first) and the `after` cursor of the next."""
    try:
        items = body["items"]
        after = (body.get("cursors") or {}).get("after")
    except (KeyError, TypeError, AttributeError) as exc:
        raise BadResponse("spotify", ENDPOINT, 200, "unexpected_shape", f"no items: {exc}") from exc
    listens = []
    for item in items:
        try:
            track = item["track"]
            played_at = datetime.fromisoformat(item["played_at"].replace("Z", "+00:00"))
            ids = {"track_id": str(track["id"])} if track.get("id") else {}
            if track.get("uri"):
                ids["uri"] = str(track["uri"])
            listens.append(
                Listen(
                    source="spotify",
                    listened_at=played_at,
                    artist=", ".join(a["name"] for a in track.get("artists", [])),
                    title=str(track["name"]),
                    album=(track.get("album") or {}).get("name"),
                    duration_ms=track.get("duration_ms"),
                    isrc=(track.get("external_ids") or {}).get("isrc"),
                    play_identity=f"{item['played_at']}:{track.get('id') or track['name']}",
                    source_ids=ids,
                    raw=item,
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadResponse("spotify", ENDPOINT, 200, "unexpected_shape", f"item: {exc}") from exc
    listens.sort(key=lambda listen: listen.listened_at)
    return listens, str(after) if after else None


class SpotifyFeed:
    name = "spotify"

    def __init__(self, api: ApiClient, accounts_client: ApiClient) -> None:
        self.api = api
        self.accounts = accounts_client
        self._tokens: dict[str, _Token] = {}

    def account_of(self, accounts: UserAccounts) -> str | None:
        return accounts.username if accounts.spotify_refresh_token else None

    async def _token(self, acc: UserAccounts, *, fresh: bool = False) -> str:
        key = f"{acc.spotify_client_id}:{acc.spotify_refresh_token}"
        cached = self._tokens.get(key)
        if cached and not fresh and cached.expires_at > time.monotonic():
            return cached.value
        if not acc.spotify_client_id or not acc.spotify_client_secret:
            raise ClientError("spotify", "/api/token", None, "unauthorized", "client id or secret not configured")
        basic = base64.b64encode(f"{acc.spotify_client_id}:{acc.spotify_client_secret}".encode()).decode()
        try:
            resp = await self.accounts.request(
                "POST",
                "/api/token",
                data={"grant_type": "refresh_token", "refresh_token": acc.spotify_refresh_token},
                headers={"Authorization": f"Basic {basic}"},
            )
        except ClientError as exc:  # invalid_grant / invalid_client: the refresh token or the app was revoked
            raise ClientError("spotify", "/api/token", exc.status, "unauthorized", exc.detail) from exc
        body = self.accounts.decode_json(resp, "/api/token")
        try:
            token = _Token(str(body["access_token"]), time.monotonic() + float(body.get("expires_in", 3600)) - 60)
        except (KeyError, TypeError, ValueError) as exc:
            raise BadResponse("spotify", "/api/token", resp.status_code, "unexpected_shape", str(exc)) from exc
        self._tokens[key] = token
        return token.value

    async def _get(self, acc: UserAccounts, params: dict[str, Any]) -> Any:
        token = await self._token(acc)
        try:
            return await self.api.get_json(ENDPOINT, params, headers={"Authorization": f"Bearer {token}"})
        except ClientError as exc:
            if exc.status != 401:
                raise
        token = await self._token(acc, fresh=True)
        return await self.api.get_json(ENDPOINT, params, headers={"Authorization": f"Bearer {token}"})

    async def pages(self, accounts: UserAccounts, since_ts: int) -> AsyncIterator[list[Listen]]:
        after: str | None = str(since_ts * 1000)
        for _ in range(MAX_PAGES):
            body = await self._get(accounts, {"limit": LIMIT, "after": after})
            listens, next_after = parse_recently_played(body)
            yield listens
            if len(listens) < LIMIT or not next_after or next_after == after:
                return
            after = next_after
