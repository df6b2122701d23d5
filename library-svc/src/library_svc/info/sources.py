"""MusicBrainz and ListenBrainz, reduced to what the info endpoints serve. Every call goes through `infra.http`.

- MusicBrainz `/ws/2/artist/{mbid}` and `/ws/2/release/{mbid}?inc=release-groups`: facts for a short biography and
  album notes (MusicBrainz has no prose: the text is built from type, area, life span, dates and labels).
- ListenBrainz `/1/popularity/top-recordings-for-artist/{mbid}`: an artist's most listened recordings.
- ListenBrainz `/1/explore/lb-radio?prompt=artist:(NAME)&mode=easy`: LB Radio's playlist for an artist, which
  holds the artist's and similar artists' recordings (a JSPF playlist; each track's identifier is a MusicBrainz
  recording URL and its extension names the artists' MBIDs).
"""

from __future__ import annotations

from typing import Any

from infra.http import ApiClient

__all__ = ["ListenBrainzSource", "MusicBrainzSource"]

_RECORDING_URL = "musicbrainz.org/recording/"


class MusicBrainzSource:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def artist(self, mbid: str) -> dict[str, Any]:
        data = await self.client.get_json(f"/ws/2/artist/{mbid}", params={"fmt": "json"})
        parts = [p for p in (data.get("type"), data.get("disambiguation")) if p]
        area = (data.get("area") or {}).get("name")
        span = data.get("life-span") or {}
        text = f"{data.get('name', '')}: {', '.join(parts)}" if parts else str(data.get("name", ""))
        if area:
            text += f", from {area}"
        if span.get("begin"):
            text += f", active since {span['begin'][:4]}"
            if span.get("ended") and span.get("end"):
                text += f" until {span['end'][:4]}"
        return {"biography": text + ".", "musicBrainzId": mbid}

    async def release(self, mbid: str) -> dict[str, Any]:
        data = await self.client.get_json(f"/ws/2/release/{mbid}", params={"fmt": "json", "inc": "release-groups"})
        group = data.get("release-group") or {}
        kinds = [group.get("primary-type"), *(group.get("secondary-types") or [])]
        notes = f"{data.get('title', '')}"
        if any(kinds):
            notes += f" ({', '.join(k for k in kinds if k)})"
        if group.get("first-release-date") or data.get("date"):
            notes += f", first released {group.get('first-release-date') or data.get('date')}"
        if data.get("country"):
            notes += f" ({data['country']})"
        return {"notes": notes + ".", "musicBrainzId": mbid}


class ListenBrainzSource:
    def __init__(self, client: ApiClient) -> None:
        self.client = client

    async def top_recordings(self, artist_mbid: str) -> list[dict[str, Any]]:
        data = await self.client.get_json(f"/1/popularity/top-recordings-for-artist/{artist_mbid}")
        return [
            {
                "recording_mbid": r.get("recording_mbid"),
                "title": r.get("recording_name") or "",
                "artist": r.get("artist_name") or "",
                "listens": r.get("total_listen_count") or 0,
            }
            for r in (data or [])
            if isinstance(r, dict)
        ]

    async def radio(self, artist_name: str) -> list[dict[str, Any]]:
        data = await self.client.get_json(
            "/1/explore/lb-radio", params={"prompt": f"artist:({artist_name})", "mode": "easy"}
        )
        tracks = (((data or {}).get("payload") or {}).get("jspf") or {}).get("playlist", {}).get("track", [])
        out = []
        for t in tracks:
            ids = t.get("identifier") or []
            ids = [ids] if isinstance(ids, str) else ids
            mbid = next((i.rsplit("/", 1)[-1] for i in ids if _RECORDING_URL in i), None)
            ext = (t.get("extension") or {}).get("https://musicbrainz.org/doc/jspf#track") or {}
            artists = [a.rstrip("/").rsplit("/", 1)[-1] for a in ext.get("artist_identifiers") or []]
            out.append(
                {
                    "recording_mbid": mbid,
                    "title": t.get("title") or "",
                    "artist": t.get("creator") or "",
                    "artist_mbids": artists,
                }
            )
        return out
