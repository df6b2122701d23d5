"""Loopback fakes of MusicBrainz, ListenBrainz, iTunes, Deezer, the Cover Art Archive and an image host, answering
like the real services (shapes modelled on recorded responses) and enforcing their rate limits (scaled by `scale`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from resolve_catalog import RECORDINGS, search_pool

from infra.http import HttpSettings
from resolve_svc.domain.text import fold
from resolve_svc.settings import Settings
from tests.support.fakeweb import FakeWeb, RateLimit, Reply, Request

__all__ = ["JPEG", "DictAlbums", "DictCache", "Fakes", "itunes_track", "lb_entry"]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64

_PHRASE = re.compile(r'(\w+):"((?:[^"\\]|\\.)*)"')


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def lb_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """The ListenBrainz metadata entry of a catalog recording (first release as LB's canonical one)."""
    rel = doc["releases"][0] if doc["releases"] else None
    return {
        "recording": {"name": doc["title"], "length": doc["length"], "rels": []},
        "artist": {
            "name": "".join(c["name"] + c["joinphrase"] for c in doc["artist-credit"]),
            "artists": [
                {"name": c["name"], "join_phrase": c["joinphrase"], "artist_mbid": c["artist"]["id"]}
                for c in doc["artist-credit"]
            ],
        },
        "release": (
            {
                "name": rel["title"],
                "mbid": rel["id"],
                "release_group_mbid": rel["release-group"]["id"],
                "year": int(rel["date"][:4]),
                "caa_release_mbid": rel["id"],
                "album_artist_name": doc["artist-credit"][0]["name"],
            }
            if rel
            else {}
        ),
        "tag": {"recording": [{"count": 3, "genre_mbid": "45eb1d9c-588c-4dc8-9394-a14b7c8f02bc", "tag": "rock"}]},
    }


def itunes_track(artist: str, title: str, album: str, ms: int | None, art_base: str, **extra: Any) -> dict[str, Any]:
    slug = re.sub(r"\W+", "-", fold(album)) or "x"
    return {
        "wrapperType": "track",
        "kind": "song",
        "artistName": artist,
        "collectionName": album,
        "trackName": title,
        "trackTimeMillis": ms,
        "artworkUrl100": f"{art_base}/image/thumb/{slug}/100x100bb.jpg",
        "trackNumber": 3,
        "trackCount": 12,
        "discNumber": 1,
        "discCount": 1,
        "releaseDate": "1975-11-21T08:00:00Z",
        **extra,
    }


class DictAlbums:
    """The album memory port over a dict: the first claim of a release group holds."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    async def get(self, release_group_mbid: str) -> dict[str, Any] | None:
        return self.data.get(release_group_mbid)

    async def claim(self, release_group_mbid: str, album: dict[str, Any]) -> dict[str, Any]:
        return self.data.setdefault(release_group_mbid, album)


class DictCache:
    """The cache ports of resolve-svc over a dict (`through` keeps values wrapped as the KV cache does)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    async def get(self, key: str) -> Any | None:
        return self.data.get(key)

    async def put(self, key: str, value: Any) -> None:
        self.data[key] = value

    async def through(self, key: str, load: Any) -> Any:
        if key in self.data:
            return self.data[key]["x"]
        value = await load()
        self.data[key] = {"x": value}
        return value


@dataclass
class Fakes:
    """One FakeWeb per service. `scale` multiplies every published rate limit (1 = the real limits)."""

    make: Callable[[], FakeWeb]
    scale: float = 1.0
    recordings: dict[str, dict[str, Any]] = field(default_factory=dict)
    itunes_results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Folded 'artist title' term → iTunes results; unknown terms answer the catalog's studio album."""
    deezer_enabled: bool = True
    deezer_unknown: set[str] = field(default_factory=set)
    """Folded 'artist title' terms Deezer does not know."""

    def __post_init__(self) -> None:
        self.recordings = self.recordings or {d["id"]: d for d in RECORDINGS.values()}
        self.mb, self.lb, self.itunes, self.deezer, self.caa, self.images = (self.make() for _ in range(6))
        s = self.scale
        self.mb_limit = RateLimit(1.0 / s, status=503, headers={"Retry-After": "1"})
        self.lb_limit = RateLimit(1.0 / s, status=429, headers={"X-RateLimit-Reset-In": "1"})
        self.itunes_limit = RateLimit(per_window=20, window_s=60.0 / s, status=403)
        quota = Reply(200, json={"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}})
        self.deezer_limit = RateLimit(per_window=50, window_s=5.0 / s, reply=quota)
        self._index: dict[str, dict[str, Any]] = {}
        for doc in self.recordings.values():
            self._index.setdefault(fold(f"{doc['artist-credit'][0]['name']} {doc['title']}"), doc)
        self.mb.route("GET", "/ws/2/recording/{mbid}", self._mb_lookup, limit=self.mb_limit)
        self.mb.route("GET", "/ws/2/recording", self._mb_search, limit=self.mb_limit)
        self.lb.route("GET", "/1/metadata/recording/", self._lb_metadata, limit=self.lb_limit)
        self.itunes.route("GET", "/search", self.itunes_search, limit=self.itunes_limit)
        self.deezer.route("GET", "/search", self.deezer_search, limit=self.deezer_limit)
        self.caa.route("GET", "/release-group/{mbid}", self._caa)
        self.caa.route("GET", "/release/{mbid}", self._caa)
        self.images.route("GET", "/image/thumb/{slug}/{size}", lambda r: Reply(body=JPEG, content_type="image/jpeg"))
        self.images.route("GET", "/images/cover/{slug}/{size}", lambda r: Reply(body=JPEG, content_type="image/jpeg"))
        self.images.route("GET", "/caa/{mbid}/{size}", lambda r: Reply(body=JPEG, content_type="image/jpeg"))

    store_rates = {"BRAINSTREAM_ITUNES_RATE": 1000.0, "BRAINSTREAM_DEEZER_RATE": 1000.0}
    """Settings for stores without a budget (with `unlimited_stores`)."""

    def unlimited_stores(self) -> None:
        """Stores that take any rate: for tests about another host's budget."""
        self.itunes.route("GET", "/search", self.itunes_search)
        self.deezer.route("GET", "/search", self.deezer_search)

    # settings pointing at the fakes ------------------------------------------------------------------------------

    def settings(self, nats_url: str, **overrides: Any) -> Settings:
        return Settings(**self.env_values(nats_url, **overrides))

    def env(self, nats_url: str, **overrides: Any) -> dict[str, str]:
        """The same settings as environment variables, for a replica in its own process."""
        http = {"BRAINSTREAM_CONTACT": "tests@example.org", "BRAINSTREAM_HTTP_BACKOFF": "0.05"}
        return {**http, **{k: str(v) for k, v in self.env_values(nats_url, **overrides).items()}}

    def env_values(self, nats_url: str, **overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "NATS_URL": nats_url,
            "BRAINSTREAM_MUSICBRAINZ_URL": self.mb.base_url,
            "BRAINSTREAM_LISTENBRAINZ_URL": self.lb.base_url,
            "BRAINSTREAM_ITUNES_URL": self.itunes.base_url,
            "BRAINSTREAM_DEEZER_URL": self.deezer.base_url,
            "BRAINSTREAM_COVERARTARCHIVE_URL": self.caa.base_url,
            "BRAINSTREAM_MUSICBRAINZ_RATE": self.scale,
            "BRAINSTREAM_LISTENBRAINZ_RATE": self.scale,
            "BRAINSTREAM_ITUNES_RATE": self.scale * 20 / 60,
            "BRAINSTREAM_DEEZER_RATE": self.scale * 10,
            "BRAINSTREAM_STORE_WAIT": 1.0 / self.scale,
            "BRAINSTREAM_LB_BATCH_WINDOW": 0.05,
        }
        values.update(overrides)
        return values

    @staticmethod
    def http(**overrides: Any) -> HttpSettings:
        values: dict[str, Any] = {
            "BRAINSTREAM_CONTACT": "tests@example.org",
            "BRAINSTREAM_HTTP_TIMEOUT": 2.0,
            "BRAINSTREAM_HTTP_RETRIES": 4,
            "BRAINSTREAM_HTTP_BACKOFF": 0.05,
            "BRAINSTREAM_HTTP_BACKOFF_MAX": 2.0,
        }
        values.update(overrides)
        return HttpSettings(**values)

    @property
    def violations(self) -> dict[str, int]:
        webs = {"musicbrainz": self.mb, "listenbrainz": self.lb, "itunes": self.itunes, "deezer": self.deezer}
        return {name: len(web.violations) for name, web in webs.items()}

    def counts(self) -> dict[str, int]:
        webs = {"musicbrainz": self.mb, "listenbrainz": self.lb, "itunes": self.itunes, "deezer": self.deezer}
        out = {name: len(web.requests) for name, web in webs.items()}
        out["coverartarchive"] = len(self.caa.requests)
        out["images"] = len(self.images.requests)
        return out

    # handlers ----------------------------------------------------------------------------------------------------

    def _mb_lookup(self, req: Request) -> Reply:
        doc = self.recordings.get(req.params["mbid"])
        if doc is None:
            return Reply(404, json={"error": "Not Found", "help": "For usage, please see: https://musicbrainz.org"})
        return Reply(json=doc)

    def _mb_search(self, req: Request) -> Reply:
        query = req.query.get("query", [""])[0]
        if query.startswith("isrc:"):
            isrc = _unescape(query[5:])
            found = [d for d in self.recordings.values() if isrc in d.get("isrcs", [])]
        else:
            phrases = {k: _unescape(v) for k, v in _PHRASE.findall(query)}
            found = search_pool(phrases.get("artist", ""), phrases.get("recording", ""))
        return Reply(
            json={"created": "2026-03-06T19:39:22.423Z", "count": len(found), "offset": 0, "recordings": found}
        )

    def _lb_metadata(self, req: Request) -> Reply:
        mbids = req.query.get("recording_mbids", [""])[0].split(",")
        body = {m: lb_entry(self.recordings[m]) for m in mbids if m in self.recordings}
        return Reply(json=body, headers={"X-RateLimit-Remaining": "10", "X-RateLimit-Reset-In": "1"})

    def _studio(self, term: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        exact = self._index.get(fold(term))
        if exact is not None:
            albums = [r for r in exact["releases"] if not r["release-group"]["secondary-types"]]
            return (exact, albums[0]) if albums else None
        words = set(fold(term).split())
        for doc in self.recordings.values():
            names = set(fold(" ".join(c["name"] for c in doc["artist-credit"])).split())
            if set(fold(doc["title"]).split()) <= words and names & words:
                albums = [r for r in doc["releases"] if not r["release-group"]["secondary-types"]]
                if albums:
                    return doc, albums[0]
        return None

    def itunes_search(self, req: Request) -> Reply:
        term = req.query.get("term", [""])[0]
        if fold(term) in self.itunes_results:
            return Reply(json={"resultCount": 1, "results": self.itunes_results[fold(term)]})
        found = self._studio(term)
        results = []
        if found:
            doc, rel = found
            artist = doc["artist-credit"][0]["name"]
            results.append(itunes_track(artist, doc["title"], rel["title"], doc["length"], self.images.base_url))
        return Reply(json={"resultCount": len(results), "results": results})

    def deezer_search(self, req: Request) -> Reply:
        q = req.query.get("q", [""])[0]
        phrases = dict(re.findall(r'(\w+):"([^"]*)"', q))
        term = f"{phrases.get('artist', '')} {phrases.get('track', '')}"
        known = self.deezer_enabled and fold(term) not in self.deezer_unknown
        found = self._studio(term) if known else None
        data = []
        if found:
            doc, rel = found
            slug = re.sub(r"\W+", "-", fold(rel["title"]))
            base = f"{self.images.base_url}/images/cover/{slug}"
            data.append(
                {
                    "id": 3135556,
                    "title": doc["title"],
                    "duration": (doc["length"] or 0) // 1000,
                    "artist": {"id": 27, "name": doc["artist-credit"][0]["name"]},
                    "album": {
                        "id": 302127,
                        "title": rel["title"],
                        "cover_medium": f"{base}/250x250-000000-80-0-0.jpg",
                        "cover_xl": f"{base}/1000x1000-000000-80-0-0.jpg",
                    },
                    "type": "track",
                }
            )
        return Reply(json={"data": data, "total": len(data)})

    def _caa(self, req: Request) -> Reply:
        mbid = req.params["mbid"]
        base = f"{self.images.base_url}/caa/{mbid}"
        image = {
            "front": True,
            "types": ["Front"],
            "image": f"{base}/full.jpg",
            "thumbnails": {"250": f"{base}/250.jpg", "500": f"{base}/500.jpg", "1200": f"{base}/1200.jpg"},
        }
        return Reply(json={"images": [image], "release": f"https://musicbrainz.org/release/{mbid}"})
