"""The discovery lifecycle across the whole loop, as its user sees it.

`brainstream up` on loopback fakes (`tests/support/loopstack.py`), a run of a few tracks, then what a person does and
notices, in order:

1. the run's imports are this week's discoveries of the user on the Discoveries page's API, and the built-in
   Subsonic server (through the gateway's `/rest`) shows that user's "Discoveries YYYY-Www" and "Discoveries"
   playlists with exactly those tracks;
2. a star through `/rest` keeps one: the API says kept, ListenBrainz gets +1 once;
3. Hate on the API sends one to the trash folder, out of the catalog, -1 once to ListenBrainz, and the next run does
   not offer its recording again; Restore brings file and catalog entry back;
4. with the pipeline's live `keep_for` made short, the unkept ones expire to the trash and leave the playlists while
   the kept ones stay.

Each service was tested alone with synthetic events of the others; this is where their fields, subjects and
defaults must fit together.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from libopensonic import AsyncConnection
from nats.js import JetStreamContext

from ..support.loopstack import ADMIN_PASSWORD, ADMIN_USER, LoopStack, loop_stack, subject_counts
from ..support.loopworld import LB_TOKEN, LoopWorld
from ..support.stack import health
from ..support.wait import wait_until

N_TRACKS = 5  # 4 CF, 1 radio
AUDIO_SUFFIXES = {".mp3", ".flac", ".ogg", ".opus", ".m4a"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopStack]:
    world = LoopWorld(N_TRACKS)
    env = {
        "BRAINSTREAM_LISTENBRAINZ_TOKEN": LB_TOKEN,  # feedback is sent with the user's token
        "BRAINSTREAM_DISCOVERY_TICK": "1",  # the lifecycle looks at expiry every second
    }
    with loop_stack(tmp_path_factory.mktemp("discovery"), world, extra_env=env) as s:
        yield s


@pytest.fixture(scope="module")
async def js(stack: LoopStack) -> AsyncIterator[JetStreamContext]:
    url = await wait_until(stack.nats_url, timeout=60, interval=0.2)
    nc = await nats.connect(url, name="discovery-loop-tests")
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


class Session:
    """The administrator signed in to the gateway: its web API with the CSRF token, and `/rest` with their
    app-password."""

    def __init__(self, http: httpx.AsyncClient, csrf: str, subsonic: AsyncConnection) -> None:
        self.http, self.csrf, self.subsonic = http, csrf, subsonic

    async def discoveries(self) -> dict[str, Any]:
        got = await self.http.get("/api/discoveries")
        assert got.status_code == 200, got.text
        return dict(got.json())

    async def post(self, path: str, body: Any = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf})

    async def picks(self) -> dict[str, dict[str, Any]]:
        """This week's picks and the trash, by track id (a trashed pick shows in both; the trash's row wins)."""
        page = await self.discoveries()
        out = {p["track_id"]: p for w in page["weeks"] if w["week"] == this_week() for p in w["picks"]}
        return out | {p["track_id"]: p for p in page["trash"]}

    async def playlists(self) -> dict[str, list[str]]:
        """The playlists the user sees in the built-in server (all their own): name → song ids."""
        out: dict[str, list[str]] = {}
        for pl in await self.subsonic.get_playlists():
            assert pl.owner == ADMIN_USER, (pl.name, pl.owner)  # nobody else's, and no shared admin-owned copy
            full = await self.subsonic.get_playlist(pl.id)
            out[pl.name] = [s.id for s in (full.entry or [])]
        return out

    async def catalog(self) -> set[str]:
        found = await self.subsonic.search3("", artist_count=0, album_count=0, song_count=500)
        return {s.id for s in found.song or []}


def this_week() -> str:
    year, week, _ = datetime.now(UTC).isocalendar()
    return f"{year}-W{week:02d}"


@pytest.fixture(scope="module")
async def session(stack: LoopStack) -> AsyncIterator[Session]:
    await wait_until(lambda: health(stack.port), timeout=90, predicate=lambda h: bool(h) and h["status"] == "ok")
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
        login = await http.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert login.status_code in (200, 201), login.text
        app = (await http.get("/api/me/subsonic-password")).json()
        conn = AsyncConnection("http://127.0.0.1", username=app["username"], password=app["password"], port=stack.port)
        try:
            yield Session(http, login.json()["csrf_token"], conn)
        finally:
            await conn.cleanup()


async def _counts(js: JetStreamContext) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stream in ("INGEST", "RESOLVE", "ACQUIRE", "LIBRARY", "DEADLETTER"):
        counts |= await subject_counts(js, stream)
    return counts


async def _events(js: JetStreamContext, stream: str, subject: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    want = (await subject_counts(js, stream)).get(subject, 0)
    if want == 0:
        return out
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL)
    try:
        while len(out) < want:
            out.append(json.loads((await sub.next_msg(timeout=10)).data))
    finally:
        await sub.unsubscribe()
    return out


def _files(root: Path) -> dict[str, Path]:
    return {p.name: p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES}


@pytest.fixture(scope="module")
async def imported(stack: LoopStack, js: JetStreamContext) -> dict[str, dict[str, Any]]:
    """The run's imports, by track id, once every one is in the library."""
    try:
        await wait_until(
            lambda: _counts(js),
            timeout=120,
            interval=0.5,
            predicate=lambda c: c.get("library.track.imported", 0) >= N_TRACKS or stack.proc.poll() is not None,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- up.log ---\n{stack.log_tail()}") from None
    events = await _events(js, "LIBRARY", "library.track.imported")
    assert len(events) == N_TRACKS, stack.log_tail()
    return {e["track_id"]: e for e in events}


@pytest.fixture(scope="module")
def chosen(imported: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Which track the person stars and which they hate (by track id)."""
    ids = sorted(imported)
    return {"star": ids[0], "hate": ids[1], "play": ids[2]}


async def test_a_run_makes_this_weeks_discoveries_and_playlists(
    stack: LoopStack, session: Session, imported: dict[str, dict[str, Any]]
) -> None:
    world = stack.world
    source_of = {t.recording_mbid: "cf" for t in world.cf} | {t.recording_mbid: "radio" for t in world.radio}

    async def all_picked() -> dict[str, dict[str, Any]]:
        return await session.picks()

    picks = await wait_until(all_picked, timeout=30, interval=0.5, predicate=lambda p: set(p) >= set(imported))
    assert set(picks) == set(imported)
    for track_id, pick in picks.items():
        assert pick["recording_mbid"] == imported[track_id]["recording_mbid"]
        assert (pick["state"], pick["source"]) == ("active", source_of[pick["recording_mbid"]]), pick
        # library-svc's decision reaches the page: 21 days (the default keep_for) after it arrived
        added, expires = datetime.fromisoformat(pick["added_at"]), datetime.fromisoformat(pick["expires_at"])
        assert expires - added == timedelta(days=21), pick
    page = await session.discoveries()
    assert page["user"] == ADMIN_USER
    week = next(w for w in page["weeks"] if w["week"] == this_week())
    weekly = f"Discoveries {this_week()}"
    assert week["playlist"] == weekly
    order = [p["track_id"] for p in sorted(week["picks"], key=lambda p: p["position"])]

    want = {weekly: order, "Discoveries": order}
    lists = await wait_until(session.playlists, timeout=20, interval=0.5, predicate=lambda got: got == want)
    assert lists == want
    assert await session.catalog() == set(imported)


async def test_a_star_in_a_subsonic_app_keeps_a_discovery(
    stack: LoopStack, session: Session, imported: dict[str, dict[str, Any]], chosen: dict[str, str]
) -> None:
    starred = chosen["star"]
    assert await session.subsonic.star([starred])
    picks = await wait_until(session.picks, timeout=20, interval=0.5, predicate=lambda p: p[starred]["state"] == "kept")
    assert picks[starred]["reason"] == "starred"
    assert [p["track_id"] for p in picks.values() if p["state"] != "active"] == [starred]
    mbid = imported[starred]["recording_mbid"]
    sent = await wait_until(
        lambda: stack.fakes.feedback_posts(), timeout=20, interval=0.5, predicate=lambda posts: len(posts) >= 1
    )
    assert sent == [{"recording_mbid": mbid, "score": 1}]
    # the weekly playlist keeps a kept track; the rolling one holds only those still waiting
    lists = await wait_until(
        session.playlists, timeout=20, interval=0.5, predicate=lambda got: starred not in got["Discoveries"]
    )
    assert starred in lists[f"Discoveries {this_week()}"]


async def test_a_play_in_a_subsonic_app_keeps_a_discovery(
    stack: LoopStack, session: Session, imported: dict[str, dict[str, Any]], chosen: dict[str, str]
) -> None:
    """The play crosses three services: the scrobble becomes a listen (ingest-svc), is matched to its recording
    (resolve-svc) and counted by the lifecycle (library-svc)."""
    played = chosen["play"]
    assert await session.subsonic.scrobble(played, submission=True, listen_time=int(time.time()))
    picks = await wait_until(session.picks, timeout=30, interval=0.5, predicate=lambda p: p[played]["state"] == "kept")
    assert picks[played]["reason"] == "played"
    assert picks[played]["played"] and picks[played]["plays"] == 1
    assert {t for t, p in picks.items() if p["state"] == "kept"} == {chosen["star"], played}
    posts = await wait_until(
        lambda: stack.fakes.feedback_posts(), timeout=20, interval=0.5, predicate=lambda p: len(p) >= 2
    )
    assert posts[1:] == [{"recording_mbid": imported[played]["recording_mbid"], "score": 1}]


async def test_hate_trashes_tells_listenbrainz_and_the_next_run_skips_it_until_restored(
    stack: LoopStack,
    session: Session,
    js: JetStreamContext,
    imported: dict[str, dict[str, Any]],
    chosen: dict[str, str],
) -> None:
    hated = chosen["hate"]
    mbid = imported[hated]["recording_mbid"]
    name = Path(imported[hated]["path"]).name
    assert name in _files(stack.music_dir)
    asked = await session.post(f"/api/discoveries/{hated}/hate")
    assert asked.status_code == 202, asked.text

    picks = await wait_until(
        session.picks, timeout=20, interval=0.5, predicate=lambda p: p[hated]["state"] == "expired"
    )
    assert picks[hated]["reason"] == "hated" and picks[hated]["hated"]
    assert name not in _files(stack.music_dir)
    trash = stack.data_dir / "library" / "trash"
    assert name in _files(trash)
    assert hated not in await session.catalog()
    posts = await wait_until(
        lambda: stack.fakes.feedback_posts(), timeout=20, interval=0.5, predicate=lambda p: len(p) >= 3
    )
    assert posts[2:] == [{"recording_mbid": mbid, "score": -1}]
    lists = await wait_until(
        session.playlists,
        timeout=20,
        interval=0.5,
        predicate=lambda got: all(hated not in songs for songs in got.values()),
    )
    assert set(lists) == {f"Discoveries {this_week()}", "Discoveries"}

    # the next run: CF recommends the same recordings; the hated one is excluded, the rest are owned already
    runs = (await _counts(js)).get("ingest.run.completed", 0)
    started = await session.post("/api/runs", {})
    assert started.status_code == 202, started.text
    counts = await wait_until(
        lambda: _counts(js), timeout=30, interval=0.5, predicate=lambda c: c.get("ingest.run.completed", 0) > runs
    )
    excluded = await _events(js, "INGEST", "ingest.candidate.excluded")
    assert [(e["recording_mbid"], e["reason"]) for e in excluded] == [(mbid, "tombstone")]
    assert counts["ingest.candidate.discovered"] == N_TRACKS  # nothing new was acquired
    owned = await _events(js, "INGEST", "ingest.candidate.recommended_again")
    assert mbid not in {e.get("recording_mbid") for e in owned}

    asked = await session.post(f"/api/discoveries/{hated}/restore")
    assert asked.status_code == 202, asked.text
    picks = await wait_until(
        session.picks, timeout=20, interval=0.5, predicate=lambda p: p[hated]["state"] in ("restored", "kept")
    )
    assert name in _files(stack.music_dir) and name not in _files(trash)
    assert hated in await wait_until(session.catalog, timeout=10, interval=0.5, predicate=lambda c: hated in c)
    song = await session.subsonic.get_song(hated)
    assert song.id == hated
    # a restore keeps the track: +1 again, and the run's exclusion and both scores are on the page
    posts = await wait_until(
        lambda: stack.fakes.feedback_posts(), timeout=20, interval=0.5, predicate=lambda p: len(p) >= 4
    )
    assert posts[3:] == [{"recording_mbid": mbid, "score": 1}]
    page = await session.discoveries()
    shown = {(f["kind"], f["score"]) for f in page["feedback"] if f["recording_mbid"] == mbid}
    assert {("sent", -1), ("sent", 1), ("excluded", None)} <= shown, page["feedback"]


async def test_unkept_discoveries_expire_and_the_kept_stay(
    stack: LoopStack, session: Session, imported: dict[str, dict[str, Any]], chosen: dict[str, str]
) -> None:
    kept = {chosen["star"], chosen["play"], chosen["hate"]}  # starred, played, and restored (a restore keeps)
    unkept = set(imported) - kept
    names = {tid: Path(imported[tid]["path"]).name for tid in imported}
    # the administrator shortens the wait for every user on the settings API
    put = await session.http.put(
        "/api/settings", json={"discovery": {"keep_for": "1s"}}, headers={"X-CSRF-Token": session.csrf}
    )
    assert put.status_code == 200, put.text
    picks = await wait_until(
        session.picks,
        timeout=30,
        interval=0.5,
        predicate=lambda p: all(p[t]["state"] == "expired" for t in unkept),
    )
    assert {t: (p["state"], p["reason"]) for t, p in picks.items() if t in unkept} == {
        t: ("expired", "unkept") for t in unkept
    }
    assert all(picks[t]["state"] in ("kept", "restored") for t in kept), {t: picks[t] for t in kept}
    music, trash = _files(stack.music_dir), _files(stack.data_dir / "library" / "trash")
    assert {names[t] for t in unkept} <= set(trash) and not {names[t] for t in unkept} & set(music)
    assert {names[t] for t in kept} <= set(music)
    assert await session.catalog() == kept
    weekly = f"Discoveries {this_week()}"
    lists = await wait_until(
        session.playlists, timeout=20, interval=0.5, predicate=lambda got: set(got.get(weekly, [])) == kept
    )
    assert lists["Discoveries"] == []
    page = await session.discoveries()
    assert page["rules"]["keep_for"] == "1s"
    assert {p["track_id"] for p in page["trash"]} == unkept and all(p["purge_at"] for p in page["trash"])
    # expiry tells ListenBrainz nothing: still only the star's and the play's +1, the hate's -1, the restore's +1
    mbid = {t: e["recording_mbid"] for t, e in imported.items()}
    sent = [(p["recording_mbid"], p["score"]) for p in stack.fakes.feedback_posts()]
    assert sent == [
        (mbid[chosen["star"]], 1),
        (mbid[chosen["play"]], 1),
        (mbid[chosen["hate"]], -1),
        (mbid[chosen["hate"]], 1),
    ]
    assert stack.fakes.handler_errors() == []
