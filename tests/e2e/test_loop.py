"""The whole loop on loopback: recommendations in, tagged files with covers out, played over Subsonic, scrobbled back.

`brainstream up` runs every service as its own process against fakes of ListenBrainz, MusicBrainz, iTunes, Deezer
and the Cover Art Archive serving a generated world (`tests/support/loopworld.py`, `loopfakes.py`), with an inbox
folder as the audio source. One scheduled recommendation run (80% CF, 20% LB Radio) asks for N tracks; every one
must reach the library with the MusicBrainz-normalized tags and the cover of the album the chain had to pick, show
its journey in `brainstream trace`, stream through `/rest` with py-opensonic, and a scrobble must come back as a
listen.

N is 50 (`BRAINSTREAM_E2E_TRACKS` changes it); the `slow` variant (`make test-long`) runs 200.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from libopensonic import AsyncConnection
from nats.js import JetStreamContext

from infra.ops.trace import trace

from ..support.loopstack import ADMIN_PASSWORD, ADMIN_USER, LoopStack, loop_stack, subject_counts
from ..support.loopworld import LoopWorld
from ..support.stack import health
from ..support.tagread import read_file_tags
from ..support.wait import wait_until

N_TRACKS = int(os.environ.get("BRAINSTREAM_E2E_TRACKS", "50"))
AUDIO_SUFFIXES = {".mp3", ".flac", ".ogg", ".opus", ".m4a"}
JOURNEY = ("ingest.candidate.discovered", "resolve.track.resolved", "acquire.track.tagged", "library.track.imported")
# a terminal answer other than "in the library" for a track: the loop did not close for it
DEAD_ENDS = ("resolve.track.unresolved", "acquire.track.failed", "acquire.track.skipped", "library.track.import_failed")


@pytest.fixture(scope="module", params=[N_TRACKS, pytest.param(200, marks=pytest.mark.slow)], ids=lambda n: f"{n}")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopStack]:
    world = LoopWorld(request.param)
    with loop_stack(tmp_path_factory.mktemp("loop"), world) as s:
        yield s


@pytest.fixture(scope="module")
async def js(stack: LoopStack) -> AsyncIterator[JetStreamContext]:
    url = await wait_until(stack.nats_url, timeout=60, interval=0.2)
    nc = await nats.connect(url, name="loop-tests")
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def _progress(js: JetStreamContext) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stream in ("INGEST", "RESOLVE", "ACQUIRE", "LIBRARY", "DEADLETTER"):
        counts |= await subject_counts(js, stream)
    return counts


@pytest.fixture(scope="module")
async def settled(stack: LoopStack, js: JetStreamContext) -> dict[str, Any]:
    """Wait until every track is imported or some track hit a dead end; returns the figures of the run."""
    t0 = time.monotonic()

    def done(c: dict[str, int]) -> bool:
        dead = sum(v for k, v in c.items() if k in DEAD_ENDS or k.startswith("deadletter."))
        return c.get("library.track.imported", 0) >= stack.world.n or dead > 0 or stack.proc.poll() is not None

    try:
        counts = await wait_until(lambda: _progress(js), timeout=240, interval=0.5, predicate=done)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- brainstream up, last lines ---\n{stack.log_tail()}") from None
    elapsed = time.monotonic() - t0
    print(f"\nloop of {stack.world.n} tracks settled in {elapsed:.1f}s; fake requests {stack.fakes.counts()}")
    return {"counts": counts, "elapsed_s": elapsed}


async def _events(js: JetStreamContext, stream: str, subject: str) -> list[dict[str, Any]]:
    """Every event on `subject`, decoded, read with an ephemeral ordered consumer."""
    out: list[dict[str, Any]] = []
    counts = await subject_counts(js, stream)
    want = counts.get(subject, 0)
    if want == 0:
        return out
    sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL)
    try:
        while len(out) < want:
            msg = await sub.next_msg(timeout=10)
            out.append(json.loads(msg.data))
    finally:
        await sub.unsubscribe()
    return out


def _dead_end_report(counts: dict[str, int]) -> str:
    bad = {k: v for k, v in counts.items() if k in DEAD_ENDS or k.startswith("deadletter.")}
    return f"dead ends: {bad}" if bad else ""


async def test_every_recommended_track_reaches_the_library(
    stack: LoopStack, js: JetStreamContext, settled: dict[str, Any]
) -> None:
    counts = settled["counts"]
    dead = _dead_end_report(counts)
    if dead:
        details = []
        for subject in [k for k in counts if k in DEAD_ENDS]:
            stream = subject.split(".")[0].upper()
            details += [json.dumps(e)[:400] for e in (await _events(js, stream, subject))[:3]]
        pytest.fail(f"{dead}\n" + "\n".join(details) + f"\n--- up.log ---\n{stack.log_tail(30)}")
    world = stack.world
    discovered = await _events(js, "INGEST", "ingest.candidate.discovered")
    assert Counter(e["source"] for e in discovered) == {"cf": len(world.cf), "radio": len(world.radio)}
    assert {e["recording_mbid"] for e in discovered} == set(world.by_mbid())  # radio's CF duplicates were dropped
    imported = await _events(js, "LIBRARY", "library.track.imported")
    assert len(imported) == stack.world.n
    assert {e["recording_mbid"] for e in imported} == set(world.by_mbid())
    assert stack.fakes.handler_errors() == []


async def test_library_files_carry_normalized_tags_and_the_chosen_cover(
    stack: LoopStack, settled: dict[str, Any]
) -> None:
    files = [p for p in stack.music_dir.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES]
    assert len(files) == stack.world.n
    by_mbid = stack.world.by_mbid()
    seen: set[str] = set()
    wrong: list[str] = []
    sources: Counter[str] = Counter()
    for path in files:
        tags = read_file_tags(path)
        assert tags.recording_mbid in by_mbid, f"{path}: recording id {tags.recording_mbid!r}"
        t = by_mbid[tags.recording_mbid]
        seen.add(t.recording_mbid)
        got = (tags.title, tags.artist, tags.album, tags.albumartist)
        want = (t.title, t.artist, t.album, t.album_artist)
        if got != want:
            wrong.append(f"{path.name}: tags {got} != {want} (album from {t.album_source})")
        sources.update(src for src, cover in t.covers.items() if tags.pictures == [cover])
        if len(tags.pictures) != 1 or tags.pictures[0] not in t.covers.values():
            sizes = [len(p) for p in tags.pictures]
            wrong.append(f"{path.name}: pictures {sizes} are not the {'/'.join(t.covers)} cover of {t.album!r}")
        assert "Official" not in path.name and "YouTube" not in str(path)  # raw inbox names never reach paths
    print(f"\ncovers by source: {dict(sources)}")
    assert wrong == [], "\n".join(wrong)
    assert seen == set(by_mbid)
    left = [p for p in stack.staging_dir.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]
    assert left == []  # every staged file moved into the library
    assert not [p for p in stack.inbox_dir.iterdir() if p.is_file()]  # the inbox hands each file over once


async def test_the_album_chain_asked_only_what_it_needed(stack: LoopStack, settled: dict[str, Any]) -> None:
    fakes, world = stack.fakes, stack.world
    caa_groups = {r.params["mbid"] for r in fakes.caa.requests_for("GET", "/release-group/{mbid}")}
    # Cover Art Archive only where neither iTunes nor Deezer matched the album
    assert caa_groups == {t.release_group_mbid for t in world.tracks if t.album_source == "coverartarchive"}
    assert fakes.mb.count("GET", "/ws/2/recording") == 0  # every candidate had an MBID: no text search
    lookups = {r.params["mbid"] for r in fakes.mb.requests_for("GET", "/ws/2/recording/{mbid}")}
    assert lookups <= set(world.by_mbid())
    assert {t.recording_mbid for t in world.tracks if t.album_source == "coverartarchive"} <= lookups


async def test_trace_shows_each_journey(stack: LoopStack, js: JetStreamContext, settled: dict[str, Any]) -> None:
    broken: list[str] = []
    for mbid in stack.world.by_mbid():
        events = await trace(js, mbid)
        subjects = [e.subject for e in events]
        missing = [s for s in JOURNEY if s not in subjects]
        journeys = {e.body.get("correlation_id") for e in events if e.subject in JOURNEY}
        if missing or len(journeys) != 1:
            broken.append(f"{mbid}: missing {missing}, correlation ids {journeys}")
    assert broken == []
    # and the operator's command says the same for one of them
    sample = stack.world.tracks[-1].recording_mbid
    done = stack.cli("trace", sample, "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [s for s in JOURNEY if s in [r["subject"] for r in rows]] == list(JOURNEY)
    at = {r["subject"]: r["offset_s"] for r in rows}
    assert at[JOURNEY[0]] <= at[JOURNEY[1]] <= at[JOURNEY[2]] <= at[JOURNEY[3]]


async def _subsonic_login(stack: LoopStack) -> tuple[int, str, str]:
    """(port, user, password) of /rest: the gateway's, with the app-password it shows the logged-in user."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
        login = await http.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert login.status_code in (200, 201), login.text
        got = await http.get("/api/me/subsonic-password")
        assert got.status_code == 200, got.text
        body = got.json()
    return stack.port, body["username"], body["password"]


async def test_a_subsonic_client_lists_and_streams_every_track(stack: LoopStack, settled: dict[str, Any]) -> None:
    await wait_until(lambda: health(stack.port), timeout=60, predicate=lambda h: bool(h) and h["status"] == "ok")
    port, user, password = await _subsonic_login(stack)
    conn = AsyncConnection("http://127.0.0.1", username=user, password=password, port=port)
    try:
        assert await conn.ping()
        found = await conn.search3("", artist_count=0, album_count=0, song_count=500)
        songs = found.song or []
        by_mbid = stack.world.by_mbid()
        assert len(songs) == stack.world.n
        listed = {(s.title, s.artist, s.album) for s in songs}
        assert listed == {(t.title, t.artist, t.album) for t in by_mbid.values()}
        files = {p.name: p for p in stack.music_dir.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES}
        for song in songs:
            resp = await conn.stream(song.id)
            data = await resp.read()
            assert resp.status == 200
            on_disk = files[Path(song.path).name] if song.path else None
            assert on_disk is not None and data == on_disk.read_bytes(), song.title
    finally:
        await conn.cleanup()


async def test_a_scrobble_comes_back_as_a_listen(
    stack: LoopStack, js: JetStreamContext, settled: dict[str, Any]
) -> None:
    port, user, password = await _subsonic_login(stack)
    conn = AsyncConnection("http://127.0.0.1", username=user, password=password, port=port)
    try:
        song = (await conn.search3("", artist_count=0, album_count=0, song_count=1)).song[0]  # type: ignore[index]
        played_at = int(time.time()) - 60
        assert await conn.scrobble(song.id, submission=True, listen_time=played_at)  # seconds; py-opensonic sends ms
    finally:
        await conn.cleanup()

    async def listens_from_subsonic() -> list[dict[str, Any]]:
        return [e for e in await _events(js, "INGEST", "ingest.listen.recorded") if e["source"] == "subsonic"]

    listens = await wait_until(listens_from_subsonic, timeout=30, interval=0.5)
    assert len(listens) == 1
    listen = listens[0]
    assert listen["source_ids"]["song_id"] == song.id and listen["user"] == user
    assert (listen["title"], listen["artist"]) == (song.title, song.artist)
    listened = datetime.fromisoformat(listen["listened_at"]).timestamp()
    assert abs(listened - played_at) < 2, (listen["listened_at"], played_at)
    # the ListenBrainz history was polled too: each of its plays is one listen
    lb = [e for e in await _events(js, "INGEST", "ingest.listen.recorded") if e["source"] == "listenbrainz"]
    assert len(lb) == len(stack.world.listens)


async def test_a_run_started_from_the_gateway_asks_listenbrainz_again(
    stack: LoopStack, js: JetStreamContext, settled: dict[str, Any]
) -> None:
    """The person's ListenBrainz account came from the environment; the gateway's first-admin setup writes a live
    `user.<name>` document without it, which must not hide the environment's account from ingest-svc."""
    cf_path = "/1/cf/recommendation/user/{user}/recording"
    before = stack.fakes.lb.count("GET", cf_path.replace("{user}", "loop-listener"))
    runs_before = (await _progress(js)).get("ingest.run.completed", 0)
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=10) as http:
        login = await http.post("/api/login", json={"username": ADMIN_USER, "password": ADMIN_PASSWORD})
        assert login.status_code in (200, 201), login.text
        started = await http.post("/api/runs", json={}, headers={"X-CSRF-Token": login.json()["csrf_token"]})
        assert started.status_code == 202, started.text
    counts = await wait_until(
        lambda: _progress(js),
        timeout=10,
        interval=0.3,
        predicate=lambda c: c.get("ingest.run.completed", 0) > runs_before,
    )
    assert counts["ingest.run.completed"] == runs_before + 1
    assert stack.fakes.lb.count("GET", cf_path.replace("{user}", "loop-listener")) > before
    # everything it recommends is wanted or owned already: nothing new is discovered
    assert counts["ingest.candidate.discovered"] == stack.world.n
