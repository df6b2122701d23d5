"""`GET /api/insights` on a real gateway fed through a real nats-server: exact numbers for a known week in Berlin
(with the spring change), the hit rate from the read model, who may ask, bad input, the time zone setting, the
summary without and with a loopback fake of an OpenAI-compatible chat-completions API."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import httpx
import pytest

from tests.support.fakeweb import FakeWeb, Reply
from tests.support.nats import NatsEndpoint
from tests.support.wait import wait_until

from .insights_scenario import (
    PREVIOUS_PLAYS,
    TOTAL_PLAYS,
    TWO_WEEKS,
    WEEK,
    WEEK_DAILY,
    WEEK_GENRES,
    WEEK_PLAYS,
    WEEK_TOP,
    events,
)
from .test_history_live import publish_all


async def _ready(admin: httpx.AsyncClient) -> None:
    await wait_until(
        lambda: admin.get("/api/insights", params={"range": "all"}),
        timeout=40,
        predicate=lambda r: (
            r.status_code == 200
            and r.json()["totals"]["plays"] == TOTAL_PLAYS
            and r.json()["range"]["from"].startswith("2026-03-17")
        ),
    )
    await wait_until(
        lambda: admin.get("/api/insights", params=TWO_WEEKS),
        timeout=40,
        predicate=lambda r: r.json()["hit_rate"]["total"]["acquired"] == 3,
    )
    # the genres come from the LIBRARY stream through the history store's own consumer
    await wait_until(
        lambda: admin.get("/api/insights", params={"range": "all"}),
        timeout=40,
        predicate=lambda r: len(r.json()["top_genres"]) == 2,
    )


async def test_insights_of_a_known_week(gateway_factory: Any, nats_endpoint: NatsEndpoint) -> None:
    gw = await gateway_factory(BRAINSTREAM_TIMEZONE="Europe/Berlin")
    await publish_all(nats_endpoint.url, events())
    admin = await gw.login()
    try:
        await _ready(admin)
        d = (await admin.get("/api/insights", params=WEEK)).json()
        assert d["timezone"] == "Europe/Berlin"
        assert d["range"]["from"] == "2026-03-23T00:00:00+01:00" and d["range"]["to"] == "2026-03-30T00:00:00+02:00"
        assert d["totals"]["plays"] == WEEK_PLAYS and d["totals"]["listening_ms"] == WEEK_PLAYS * 200_000
        assert [(a["artist"], a["plays"]) for a in d["top_artists"]] == WEEK_TOP
        assert d["top_tracks"][0] == {
            "artist": "Cold Harbour",
            "title": "Harbour Lights",
            "plays": 3,
            "listening_ms": 600_000,
        }
        assert [(a["artist"], a["album"], a["plays"]) for a in d["top_albums"]] == [
            ("Cold Harbour", "Fog", 5),
            ("Tidewell", "Fog", 2),
            ("Night Ferry", "Fog", 1),
        ]
        assert [(g["genre"], g["plays"], g["listening_ms"]) for g in d["top_genres"]] == WEEK_GENRES
        assert [
            (g["genre"], g["plays"])
            for g in (await admin.get("/api/insights", params={"range": "all"})).json()["top_genres"]
        ] == [("Ambient", 6), ("Dream Pop", 5)]  # CF1 5 times (one the week before), RADIO1 once
        assert [b["plays"] for b in d["trend"]["buckets"]] == WEEK_DAILY
        assert d["trend"]["previous"]["plays"] == PREVIOUS_PLAYS
        assert d["trend"]["previous"]["change_pct"] == round((WEEK_PLAYS - PREVIOUS_PLAYS) * 100 / PREVIOUS_PLAYS)
        clock = d["clock"]["plays"]
        assert clock[5][3] == 1 and clock[6][3] == 1 and clock[0][0] == 1 and clock[6][23] == 1
        assert sum(map(sum, clock)) == WEEK_PLAYS
        assert d["sources"] == [{"source": "subsonic", "plays": WEEK_PLAYS}]
        assert d["clients"] == [{"client": "Feishin", "plays": WEEK_PLAYS}]
        assert d["discovery"]["new_artists"] == 2  # Tidewell and Night Ferry; Cold Harbour came the week before
        assert d["discovery"]["new_artist_share"] == round(3 / WEEK_PLAYS, 4)

        hits = {
            r["source"]: r for r in (await admin.get("/api/insights", params=TWO_WEEKS)).json()["hit_rate"]["by_source"]
        }
        assert (hits["cf"]["acquired"], hits["cf"]["played_7d"], hits["cf"]["played3_7d"]) == (2, 1, 1)
        assert (hits["cf"]["played_30d"], hits["cf"]["played3_30d"]) == (1, 1)
        assert (hits["radio"]["acquired"], hits["radio"]["played_7d"], hits["radio"]["played_30d"]) == (1, 0, 1)
        assert hits["manual"]["acquired"] == 0
        assert d["hit_rate"]["total"]["acquired"] == 0  # nothing was imported during the week itself

        # the time zone is a per-user setting
        bad = await admin.put("/api/me/timezone", json={"timezone": "Mars/Olympus"})
        assert bad.status_code == 400 and "IANA" in bad.text
        ok = await admin.put("/api/me/timezone", json={"timezone": "America/New_York"})
        assert ok.json() == {"timezone": "America/New_York", "server_default": "Europe/Berlin"}
        ny = (await admin.get("/api/insights", params=WEEK)).json()
        assert ny["range"]["from"] == "2026-03-23T00:00:00-04:00"
        assert ny["totals"]["plays"] == 8  # 23 March 00:00 Berlin is the 22nd in New York; Monday 30th 00:00 is in
        await admin.put("/api/me/timezone", json={"timezone": None})

        # bad input: a 400 with the reason
        for params, says in (
            ({"range": "decade"}, "range: one of"),
            ({"range": "custom"}, "needs from and to"),
            ({"range": "custom", "from": "2026-13-01", "to": "2026-12-01"}, "YYYY-MM-DD"),
            ({"range": "custom", "from": "2026-03-10", "to": "2026-03-01"}, "before"),
            ({"range": "week", "by": "hour"}, "by: one of"),
        ):
            r = await admin.get("/api/insights", params=params)
            assert r.status_code == 400 and says in r.text, (params, r.text)

        # who may ask
        assert (
            await admin.post("/api/users", json={"username": "bob", "password": "bob-password-1"})
        ).status_code == 201
        bob = await gw.login("bob", "bob-password-1")
        try:
            denied = await bob.get("/api/insights", params={"user": "admin"})
            assert denied.status_code == 403 and "only administrators" in denied.text
            assert (await bob.get("/api/insights", params={"range": "all"})).json()["totals"]["plays"] == 0
        finally:
            await bob.aclose()
        as_admin = await admin.get("/api/insights", params={**WEEK, "user": "bob"})
        assert as_admin.status_code == 200 and as_admin.json()["user"] == "bob"
        async with httpx.AsyncClient(base_url=gw.url) as anon:
            assert (await anon.get("/api/insights")).status_code == 401

        # the summary without an LLM: facts only, every number in it found in the facts
        s = (await admin.get("/api/insights/summary", params=WEEK)).json()
        assert s["llm"]["configured"] is False and s["llm"]["prose"] is None
        assert s["text"].startswith(f"{WEEK_PLAYS} plays (0.4 hours), 167% more than the previous period (3).")
        assert "Most played: Cold Harbour (5), Tidewell (2), Night Ferry (1)." in s["text"]
        facts_text = json.dumps(s["facts"])
        for number in re.findall(r"\d+(?:\.\d+)?", s["text"]):
            assert number in facts_text, number

        schema = (await admin.get("/schema/openapi.json")).json()
        op = schema["paths"]["/api/insights"]["get"]
        assert {p["name"] for p in op["parameters"]} >= {"range", "from", "to", "user"}
        answer = json.dumps(op["responses"]["200"])
        assert "InsightsOut" in answer, answer
        documented = schema["components"]["schemas"]
        assert {"top_artists", "trend", "clock", "discovery", "hit_rate"} <= set(
            documented["InsightsOut"]["properties"]
        )
        assert {"from", "to"} <= set(documented["RangeOut"]["properties"])
    finally:
        await admin.aclose()


@pytest.mark.parametrize("failure", ["500", "429", "silence"])
async def test_llm_summary_is_stored_and_failures_are_explained(
    gateway_factory: Any, nats_endpoint: NatsEndpoint, caplog: pytest.LogCaptureFixture, failure: str
) -> None:
    caplog.set_level(logging.DEBUG)
    key = "sk-test-4f1d9a7c"
    with FakeWeb() as llm:
        answer = {"choices": [{"message": {"role": "assistant", "content": "A week of Cold Harbour, mostly."}}]}
        llm.json("POST", "/v1/chat/completions", answer)
        gw = await gateway_factory(
            BRAINSTREAM_TIMEZONE="Europe/Berlin",
            BRAINSTREAM_LLM_URL=llm.url("/v1"),
            BRAINSTREAM_LLM_MODEL="tiny-test",
            BRAINSTREAM_LLM_API_KEY=key,
            BRAINSTREAM_LLM_TIMEOUT=1.5,
        )
        await publish_all(nats_endpoint.url, events())
        admin = await gw.login()
        try:
            await _ready(admin)
            first = (await admin.get("/api/insights/summary", params=WEEK)).json()
            assert first["llm"]["configured"] and first["text"]  # the facts' summary never waits
            done = await wait_until(
                lambda: admin.get("/api/insights/summary", params=WEEK),
                timeout=20,
                predicate=lambda r: r.json()["llm"]["state"] == "done",
            )
            assert done.json()["llm"]["prose"] == "A week of Cold Harbour, mostly."
            assert done.json()["llm"]["model"] == "tiny-test"
            [sent] = llm.requests_for("POST", "/v1/chat/completions")
            assert sent.header("Authorization") == f"Bearer {key}"
            prompt = json.loads(sent.json()["messages"][1]["content"])
            assert prompt == first["facts"] and prompt["plays"] == WEEK_PLAYS
            assert prompt["top_artists"] == ["Cold Harbour", "Tidewell", "Night Ferry"]
            # stored: asking again writes nothing new
            await admin.get("/api/insights/summary", params=WEEK)
            assert llm.count("POST", "/v1/chat/completions") == 1

            reply = {
                "500": Reply.html(500, "<h1>Internal Server Error</h1>"),
                "429": Reply(429, json={"error": {"message": "Rate limit reached"}}, headers={"Retry-After": "20"}),
                "silence": Reply(json=answer, delay_s=8),
            }[failure]
            llm.reply("POST", "/v1/chat/completions", reply)
            again = await admin.post("/api/insights/summary", params=WEEK)
            assert again.status_code == 202 and again.json()["llm"]["state"] == "pending"
            failed = await wait_until(
                lambda: admin.get("/api/insights/summary", params=WEEK),
                timeout=20,
                predicate=lambda r: r.json()["llm"]["state"] == "failed",
            )
            reason = failed.json()["llm"]["reason"]
            expected = {"500": "answered 500", "429": "rate-limiting", "silence": "did not answer"}[failure]
            assert expected in reason, reason
            # the page's data still comes
            assert (await admin.get("/api/insights", params=WEEK)).json()["totals"]["plays"] == WEEK_PLAYS
        finally:
            await admin.aclose()
    assert key not in caplog.text
