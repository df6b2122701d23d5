"""Loopback fakes of ListenBrainz, Last.fm and Spotify that answer like the real APIs (shapes modelled on recorded
responses), and in-memory fakes of the service's ports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from contracts.base import Message
from ingest_svc.domain.listens import ListenCursor
from ingest_svc.domain.recommendations import CfCursor
from ingest_svc.ports import GateState
from tests.support.fakeweb import FakeWeb, RateLimit, Reply, Request

__all__ = [
    "FakeLastfm",
    "FakeListenBrainz",
    "FakeSpotify",
    "JsPublisher",
    "MemoryCursors",
    "MemoryGate",
    "MemoryKnown",
    "RecordingPublisher",
    "generated_playlist",
    "lb_listen",
    "mbid",
    "stream_events",
]


def mbid(n: int, space: str = "rec") -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{space}:{n}")


def lb_listen(ts: int, n: int, user: str = "alice", *, recording_mbid: uuid.UUID | None = None) -> dict[str, Any]:
    """One listen as ListenBrainz's /1/user/{user}/listens returns it."""
    msid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"msid:{n}"))
    return {
        "listened_at": ts,
        "recording_msid": msid,
        "track_metadata": {
            "artist_name": f"Artist {n % 97}",
            "track_name": f"Track {n}",
            "release_name": f"Album {n % 13}",
            "additional_info": {
                "recording_msid": msid,
                "duration_ms": 200_000 + n,
                "isrc": f"GBAFL16{n:05d}",
                "listening_from": "spotify",
                "spotify_id": f"https://open.spotify.com/track/{n}",
            },
            "mbid_mapping": {"recording_mbid": str(recording_mbid)} if recording_mbid else None,
        },
        "user_name": user,
    }


JSPF_PLAYLIST = "https://musicbrainz.org/doc/jspf#playlist"


def generated_playlist(
    kind: str,
    tracks: list[tuple[uuid.UUID, str]],
    *,
    user: str = "alice",
    date: str = "2026-12-07T00:00:00.000000+00:00",
    patch: bool = True,
) -> dict[str, Any]:
    """A playlist ListenBrainz generated for `user` (JSPF, as `/1/playlist/{mbid}` answers it): `kind` is the
    troi patch ('weekly-exploration', 'weekly-jams', 'daily-jams', ...); `patch=False` leaves the algorithm
    metadata out (older playlists), so only the title says what it is. Tracks are (recording MBID, artist)."""
    titles = {"weekly-exploration": "Weekly Exploration", "weekly-jams": "Weekly Jams", "daily-jams": "Daily Jams"}
    week = date[:10]
    mbid = uuid.uuid5(uuid.NAMESPACE_URL, f"playlist:{user}:{kind}:{date}")
    meta: dict[str, Any] = {"expires_at": "2027-01-04T00:00:00+00:00"}
    if patch:
        meta["algorithm_metadata"] = {"source_patch": kind}
    return {
        "annotation": f"<p>This playlist was made for {user} by the ListenBrainz recommendation engine.</p>",
        "creator": "listenbrainz",
        "date": date,
        "identifier": f"https://listenbrainz.org/playlist/{mbid}",
        "title": f"{titles.get(kind, kind)} for {user}, week of {week} Mon",
        "extension": {
            JSPF_PLAYLIST: {
                "additional_metadata": meta,
                "created_for": user,
                "creator": "listenbrainz",
                "last_modified_at": date,
                "public": True,
            }
        },
        "track": [
            {
                "identifier": [f"https://musicbrainz.org/recording/{rec}"],
                "title": f"Song {i}",
                "creator": artist,
                "album": f"Album {i}",
                "extension": {
                    "https://musicbrainz.org/doc/jspf#track": {
                        "added_at": date,
                        "added_by": "listenbrainz",
                        "additional_metadata": {"caa_id": None, "caa_release_mbid": None},
                        "artist_identifiers": [],
                    }
                },
            }
            for i, (rec, artist) in enumerate(tracks)
        ],
    }


@dataclass
class FakeListenBrainz:
    """CF recommendations, user statistics, LB Radio, listens, the playlists generated for the user
    (`createdfor`, `/1/playlist/{mbid}`) and recording feedback (sent, listed, looked up), for one user.

    Like ListenBrainz: an unknown user is a 404 `Cannot find user`, a token that is not valid a 401 (reads work
    without any token), and `before` answers the next feedback submissions instead (429 with
    `X-RateLimit-Reset-In`, 503)."""

    web: FakeWeb
    user: str = "alice"
    cf: list[uuid.UUID] | None = field(default_factory=list)
    """None answers 204 (no recommendations yet)."""
    marker: str = "model_id"
    """'model_id', 'last_updated' or 'none' (neither: the client must compare the first MBID)."""
    model: str = "m1"
    artists: list[tuple[str, str | None]] = field(default_factory=lambda: [("Seed A", str(mbid(1, "artist")))])
    radio: list[uuid.UUID] = field(default_factory=list)
    listens: list[dict[str, Any]] = field(default_factory=list)
    limit: RateLimit | None = None
    playlists: list[dict[str, Any]] = field(default_factory=list)
    """Generated for the user, as JSPF playlists (see `generated_playlist`)."""
    feedback: list[dict[str, Any]] = field(default_factory=list)
    """The user's feedback: {recording_mbid, score, created}, in the order it was given."""
    tokens: dict[str, str] = field(default_factory=lambda: {"lb-token-alice": "alice"})
    before: list[Reply] = field(default_factory=list)
    hang_after_accept_s: float = 0.0
    """Accept a feedback submission, then answer this late (a process killed while it waits never hears back)."""
    names: dict[uuid.UUID, str] = field(default_factory=dict)
    """Artist credits of recordings, as `/1/metadata/recording/` answers them."""

    def __post_init__(self) -> None:
        w, u, lim = self.web, self.user, self.limit
        w.route("GET", f"/1/cf/recommendation/user/{u}/recording", self._cf, limit=lim)
        w.route("GET", f"/1/stats/user/{u}/artists", self._artists, limit=lim)
        w.route("GET", "/1/explore/lb-radio", self._radio, limit=lim)
        w.route("GET", f"/1/user/{u}/listens", self._listens, limit=lim)
        w.route("GET", "/1/user/{user}/playlists/createdfor", self._createdfor, limit=lim)
        w.route("GET", "/1/playlist/{mbid}", self._playlist, limit=lim)
        w.route("POST", "/1/feedback/recording-feedback", self._give_feedback, limit=lim)
        w.route("GET", "/1/feedback/user/{user}/get-feedback", self._get_feedback, limit=lim)
        w.route("GET", "/1/feedback/user/{user}/get-feedback-for-recordings", self._feedback_for, limit=lim)
        w.route("GET", "/1/metadata/recording/", self._metadata, limit=lim)

    def _metadata(self, req: Request) -> Reply:
        wanted = req.query.get("recording_mbids", [""])[0].split(",")
        body = {
            m: {"artist": {"name": self.names[uuid.UUID(m)], "artists": []}, "recording": {"name": f"Song {m[:4]}"}}
            for m in wanted
            if m and uuid.UUID(m) in self.names
        }
        return Reply(json=body)

    # --- auth, as ListenBrainz checks it -------------------------------------------------------------------------
    def _auth(self, req: Request, *, required: bool) -> tuple[str | None, Reply | None]:
        header = req.header("Authorization")
        if not header:
            if required:
                return None, Reply(401, json={"code": 401, "error": "You need to provide an Authorization header."})
            return None, None
        user = self.tokens.get(header.removeprefix("Token ").strip()) if header.startswith("Token ") else None
        if user is None:
            return None, Reply(401, json={"code": 401, "error": "Invalid authorization token."})
        return user, None

    def _unknown(self, name: str) -> Reply | None:
        if name != self.user:
            return Reply(404, json={"code": 404, "error": f"Cannot find user: {name}"})
        return None

    def _createdfor(self, req: Request) -> Reply:
        _, refused = self._auth(req, required=False)
        if refused or (refused := self._unknown(req.params["user"])):
            return refused
        offset = int(req.query.get("offset", ["0"])[0])
        count = int(req.query.get("count", ["25"])[0])
        chosen = self.playlists[offset : offset + count]
        # the listing carries each playlist without its tracks
        entries = [{"playlist": {k: v for k, v in p.items() if k != "track"} | {"track": []}} for p in chosen]
        return Reply(
            json={"count": len(entries), "offset": offset, "playlist_count": len(self.playlists), "playlists": entries}
        )

    def _playlist(self, req: Request) -> Reply:
        _, refused = self._auth(req, required=False)
        if refused:
            return refused
        for p in self.playlists:
            if p["identifier"].endswith(req.params["mbid"]):
                return Reply(json={"playlist": p})
        return Reply(404, json={"code": 404, "error": "Cannot find playlist: " + req.params["mbid"]})

    def _give_feedback(self, req: Request) -> Reply:
        import json

        _, refused = self._auth(req, required=True)
        if refused:
            return refused
        if self.before:
            return self.before.pop(0)
        body = json.loads(req.body)
        if "recording_mbid" not in body or "score" not in body or set(body) - {"recording_mbid", "score"}:
            return Reply(400, json={"code": 400, "error": "JSON document must contain recording_mbid and score"})
        if body["score"] not in (-1, 0, 1):
            return Reply(400, json={"code": 400, "error": "Score can have a value of 1, 0 or -1."})
        self.feedback = [f for f in self.feedback if f["recording_mbid"] != body["recording_mbid"]]
        if body["score"] != 0:
            created = max((f["created"] for f in self.feedback), default=1_764_000_000) + 1
            self.feedback.append({"recording_mbid": body["recording_mbid"], "score": body["score"], "created": created})
        return Reply(json={"status": "ok"}, delay_s=self.hang_after_accept_s)

    def _api_feedback(self, f: dict[str, Any]) -> dict[str, Any]:
        return {
            "created": f["created"],
            "recording_mbid": f["recording_mbid"],
            "recording_msid": None,
            "score": f["score"],
            "track_metadata": None,
            "user_id": self.user,
        }

    def _get_feedback(self, req: Request) -> Reply:
        if refused := self._unknown(req.params["user"]):
            return refused
        score = int(req.query["score"][0]) if "score" in req.query else None
        offset = int(req.query.get("offset", ["0"])[0])
        count = min(100, int(req.query.get("count", ["25"])[0]))
        chosen = [f for f in self.feedback if score is None or f["score"] == score]
        chosen.sort(key=lambda f: -f["created"])  # newest first
        page = [self._api_feedback(f) for f in chosen[offset : offset + count]]
        return Reply(json={"feedback": page, "count": len(page), "total_count": len(self.feedback), "offset": offset})

    def _feedback_for(self, req: Request) -> Reply:
        if refused := self._unknown(req.params["user"]):
            return refused
        wanted = req.query.get("recording_mbids", [""])[0].split(",")
        given = {f["recording_mbid"]: f for f in self.feedback}
        out = [
            self._api_feedback(given[m])
            if m in given
            else self._api_feedback({"recording_mbid": m, "score": 0, "created": None})
            for m in wanted
            if m
        ]
        return Reply(json={"feedback": out})

    def feedback_posts(self) -> list[dict[str, Any]]:
        import json

        return [
            json.loads(r.body)
            for r in self.web.requests
            if r.method == "POST" and r.path == "/1/feedback/recording-feedback"
        ]

    def retrain(self, new_list: list[uuid.UUID], model: str) -> None:
        self.cf, self.model = new_list, model

    def _cf(self, req: Request) -> Reply:
        if self.cf is None:
            return Reply(204)
        offset = int(req.query.get("offset", ["0"])[0])
        count = int(req.query.get("count", ["25"])[0])
        items = self.cf[offset : offset + count]
        payload: dict[str, Any] = {
            "mbids": [{"recording_mbid": str(m), "score": round(10 - i * 0.01, 3)} for i, m in enumerate(items)],
            "user_name": self.user,
            "count": len(items),
            "total_mbid_count": len(self.cf),
            "offset": offset,
            "entity": "recording",
            "type": "cf",
        }
        if self.marker == "model_id":
            payload["model_id"] = self.model
            payload["model_url"] = f"https://example.org/models/{self.model}"
        elif self.marker == "last_updated":
            # deterministic per model (str hash is salted per process and could collide)
            payload["last_updated"] = 1_588_494_361 + sum(self.model.encode())
        return Reply(json={"payload": payload})

    def _artists(self, req: Request) -> Reply:
        count = int(req.query.get("count", ["25"])[0])
        artists = [
            {"artist_name": name, "artist_mbid": m, "listen_count": 100 - i}
            for i, (name, m) in enumerate(self.artists[:count])
        ]
        return Reply(json={"payload": {"artists": artists, "count": len(artists), "range": "all_time", "offset": 0}})

    def _radio(self, req: Request) -> Reply:
        tracks = [
            {
                "identifier": [f"https://musicbrainz.org/recording/{m}"],
                "title": f"Radio {i}",
                "creator": "Someone Near",
                "extension": {},
            }
            for i, m in enumerate(self.radio)
        ]
        return Reply(json={"payload": {"jspf": {"playlist": {"title": "radio", "track": tracks}}, "feedback": []}})

    def _listens(self, req: Request) -> Reply:
        min_ts = int(req.query.get("min_ts", ["0"])[0])
        count = int(req.query.get("count", ["25"])[0])
        # like ListenBrainz: with min_ts alone, the `count` oldest listens after it, answered newest first
        after = [listen for listen in self.listens if listen["listened_at"] > min_ts]
        after.sort(key=lambda listen: listen["listened_at"])
        page = list(reversed(after[:count]))
        latest = max((listen["listened_at"] for listen in self.listens), default=0)
        return Reply(
            json={"payload": {"count": len(page), "listens": page, "user_id": self.user, "latest_listen_ts": latest}}
        )


def lastfm_track(uts: int | None, n: int, *, nowplaying: bool = False) -> dict[str, Any]:
    track: dict[str, Any] = {
        "artist": {"#text": f"Artist {n}", "mbid": ""},
        "name": f"Song {n}",
        "streamable": "0",
        "mbid": str(mbid(n, "lastfm")),
        "album": {"#text": f"Album {n}", "mbid": ""},
        "url": f"https://www.last.fm/music/Artist+{n}/_/Song+{n}",
    }
    if nowplaying:
        track["@attr"] = {"nowplaying": "true"}
    if uts is not None:
        track["date"] = {"uts": str(uts), "#text": "20 Oct 2020, 09:40"}
    return track


@dataclass
class FakeLastfm:
    """`user.getRecentTracks` at `/2.0/`: pages newest first, a single track as an object, errors in the body."""

    web: FakeWeb
    tracks: list[dict[str, Any]] = field(default_factory=list)
    """Newest first, as Last.fm orders them (a now-playing item first)."""
    per_page: int = 200
    single_as_object: bool = True
    bom: bool = False
    before: list[Reply] = field(default_factory=list)
    """Replies sent before the real answers (errors, quirks)."""

    def __post_init__(self) -> None:
        self.web.route("GET", "/2.0/", self._handle)

    def _handle(self, req: Request) -> Reply:
        import json

        if self.before:
            return self.before.pop(0)
        page = int(req.query.get("page", ["1"])[0])
        since = int(req.query.get("from", ["0"])[0])
        chosen = [t for t in self.tracks if "date" not in t or int(t["date"]["uts"]) >= since]
        limit = min(self.per_page, int(req.query.get("limit", ["50"])[0]))
        pages = max(1, -(-len(chosen) // limit))
        items = chosen[(page - 1) * limit : page * limit]
        track: Any = items[0] if len(items) == 1 and self.single_as_object else items
        body = {
            "recenttracks": {
                "track": track,
                "@attr": {
                    "user": req.query["user"][0],
                    "page": str(page),
                    "perPage": str(limit),
                    "totalPages": str(pages),
                    "total": str(len(chosen)),
                },
            }
        }
        raw = json.dumps(body).encode()
        return Reply.raw(b"\xef\xbb\xbf" + raw if self.bom else raw)


@dataclass
class FakeSpotify:
    """Accounts (`/api/token`, refresh-token grant) and `me/player/recently-played`, on one fake web server."""

    web: FakeWeb
    items: list[dict[str, Any]] = field(default_factory=list)
    token: str = "access-1"
    refresh_token: str = "refresh-1"

    def __post_init__(self) -> None:
        self.web.route("POST", "/api/token", self._token)
        self.web.route("GET", "/v1/me/player/recently-played", self._recent)

    def _token(self, req: Request) -> Reply:
        from urllib.parse import parse_qs

        form = parse_qs(req.text())
        if form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != [self.refresh_token]:
            return Reply(400, json={"error": "invalid_grant", "error_description": "Invalid refresh token"})
        if not (req.header("Authorization") or "").startswith("Basic "):
            return Reply(401, json={"error": "invalid_client"})
        return Reply(json={"access_token": self.token, "token_type": "Bearer", "expires_in": 3600, "scope": "x"})

    def _recent(self, req: Request) -> Reply:
        if req.header("Authorization") != f"Bearer {self.token}":
            return Reply(401, json={"error": {"status": 401, "message": "The access token expired"}})
        after = int(req.query.get("after", ["0"])[0])
        limit = int(req.query.get("limit", ["20"])[0])
        chosen = [i for i in self.items if i["_ms"] > after][:limit]
        items = [{k: v for k, v in i.items() if k != "_ms"} for i in chosen]
        cursors = {"after": str(max(i["_ms"] for i in chosen)), "before": str(min(i["_ms"] for i in chosen))}
        return Reply(json={"items": list(reversed(items)), "cursors": cursors if chosen else None, "limit": limit})


def spotify_item(ms: int, n: int) -> dict[str, Any]:
    from datetime import UTC, datetime

    played = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "_ms": ms,
        "track": {
            "album": {"name": f"Album {n}", "id": f"alb{n}"},
            "artists": [{"name": f"Artist {n}", "id": f"art{n}"}],
            "duration_ms": 238_805,
            "external_ids": {"isrc": f"GBUM7200{n:04d}"},
            "id": f"trk{n}",
            "name": f"Song {n}",
            "uri": f"spotify:track:trk{n}",
        },
        "played_at": played,
        "context": None,
    }


class MemoryCursors:
    def __init__(self) -> None:
        self.cf_cursors: dict[str, CfCursor] = {}
        self.listen_cursors: dict[tuple[str, str], ListenCursor] = {}
        self.feedback_cursors: dict[str, tuple[int, set[str]]] = {}

    async def cf(self, user: str) -> CfCursor:
        return self.cf_cursors.get(user, CfCursor())

    async def save_cf(self, user: str, cursor: CfCursor) -> None:
        self.cf_cursors[user] = cursor

    async def listens(self, user: str, source: str) -> ListenCursor | None:
        return self.listen_cursors.get((user, source))

    async def save_listens(self, user: str, source: str, cursor: ListenCursor) -> None:
        self.listen_cursors[(user, source)] = cursor

    async def feedback(self, user: str) -> tuple[int, set[str]]:
        return self.feedback_cursors.get(user, (0, set()))

    async def save_feedback(self, user: str, newest: int, keys: set[str]) -> None:
        self.feedback_cursors[user] = (newest, set(keys))


class MemoryGate:
    def __init__(self) -> None:
        self.state: dict[str, str] = {}

    async def claim(self, key: str) -> str:
        if key not in self.state:
            self.state[key] = GateState.PENDING
            return GateState.NEW
        return self.state[key]

    async def done(self, key: str) -> None:
        self.state[key] = GateState.DONE


class MemoryKnown:
    """Wanted, in flight or owned; `owned` maps the library's recordings to their track ids."""

    def __init__(self, known: Sequence[uuid.UUID] = (), owned: dict[uuid.UUID, str] | None = None) -> None:
        self.mbids = set(known) | set(owned or {})
        self.tracks = dict(owned or {})

    async def known(self, mbids: list[uuid.UUID]) -> set[uuid.UUID]:
        return {m for m in mbids if m in self.mbids}

    async def owned(self, mbids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        return {m: self.tracks[m] for m in mbids if m in self.tracks}


class RecordingPublisher:
    def __init__(self) -> None:
        self.events: list[Message] = []

    async def publish(self, event: Message) -> object:
        self.events.append(event)
        return None

    def of(self, cls: type[Message]) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]


class JsPublisher:
    """Publishes like `ServiceRuntime.publish`: JetStream, `Nats-Msg-Id` = event_id."""

    def __init__(self, js: Any) -> None:
        self.js = js

    async def publish(self, event: Message) -> object:
        return await self.js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)})


async def stream_events(js: Any, stream: str, subject: str) -> list[bytes]:
    """Every message of `subject` stored in `stream`, in order."""
    info = await js.stream_info(stream)
    out = []
    if info.state.messages == 0:
        return out
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            msg = await js.get_msg(stream, seq)
        except Exception:  # a deleted sequence
            continue
        if msg.subject == subject:
            out.append(msg.data or b"")
    return out
