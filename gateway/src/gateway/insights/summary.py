"""The written summary of a range: templated from the facts alone, or prose from an OpenAI-compatible LLM.

The facts (a small dict taken from the insights JSON) are the only thing either writer sees. The templated summary
is deterministic and states nothing that is not in them. The LLM's prose is stored beside the facts it was written
from, per user and range, and written again only when asked or when the range is new; the page shows the templated
summary at once and the prose when it arrives. A slow, failing or rate-limited LLM leaves a stored reason instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from infra.http import ApiClient, ExternalError, HttpSettings

from ..auth.rows import InsightSummaryRow

__all__ = ["LlmConfig", "Summarizer", "SummaryStore", "facts_of", "templated"]

log = logging.getLogger(__name__)

_PROMPT = (
    "You write a short, friendly summary (3 to 5 sentences) of a person's music listening for the given period. "
    "Use only the facts in the JSON you are given; do not invent numbers, artists or comparisons."
)


def facts_of(insights: dict[str, Any]) -> dict[str, Any]:
    """The facts a summary may state, all copied from the insights JSON."""
    trend = insights["trend"]
    prev = trend.get("previous")
    hit = insights["hit_rate"]["total"]
    return {
        "range": insights["range"]["kind"],
        "from": insights["range"]["from"],
        "to": insights["range"]["to"],
        "plays": insights["totals"]["plays"],
        "listening_hours": round(insights["totals"]["listening_ms"] / 3_600_000, 1),
        "previous_plays": prev["plays"] if prev else None,
        "change_pct": prev["change_pct"] if prev else None,
        "top_artists": [a["artist"] for a in insights["top_artists"][:3]],
        "top_artist_plays": [a["plays"] for a in insights["top_artists"][:3]],
        "top_track": (
            f"{insights['top_tracks'][0]['artist']} - {insights['top_tracks'][0]['title']}"
            if insights["top_tracks"]
            else None
        ),
        "new_artists": insights["discovery"]["new_artists"],
        "acquired": hit["acquired"],
        "acquired_played_7d": hit["played_7d"],
    }


_PERIOD = {"week": "week", "month": "month", "year": "year"}


def templated(f: dict[str, Any]) -> str:
    """Deterministic sentences, each from one fact."""
    if not f["plays"]:
        return f"No plays between {f['from'][:10]} and {f['to'][:10]}."
    parts = [f"{f['plays']} plays ({f['listening_hours']} hours)"]
    if f["change_pct"] is not None:
        word = "more" if f["change_pct"] >= 0 else "fewer"
        period = _PERIOD.get(f["range"], "period")
        parts[0] += f", {abs(f['change_pct'])}% {word} than the previous {period} ({f['previous_plays']})"
    out = [parts[0] + "."]
    if f["top_artists"]:
        listed = ", ".join(f"{a} ({n})" for a, n in zip(f["top_artists"], f["top_artist_plays"], strict=True))
        out.append(f"Most played: {listed}.")
    if f["top_track"]:
        out.append(f"Top track: {f['top_track']}.")
    out.append(f"{f['new_artists']} new artist{'s' if f['new_artists'] != 1 else ''}.")
    if f["acquired"]:
        out.append(
            f"{f['acquired_played_7d']} of the {f['acquired']} tracks BrainStream brought in were played within a week."
        )
    return " ".join(out)


@dataclass(frozen=True)
class LlmConfig:
    url: str
    model: str
    api_key: str | None
    timeout_s: float


class SummaryStore:
    """The written summaries, in the accounts database every gateway replica shares (not a projection: a replay
    keeps them), so one replica's LLM answer serves every replica."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, user: str, key: str) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            row = s.get(InsightSummaryRow, (user, key))
        if row is None:
            return None
        return {
            "facts": json.loads(row.facts),
            "state": row.state,
            "prose": row.prose,
            "reason": row.reason,
            "model": row.model,
            "at": row.at,
        }

    def put(self, user: str, key: str, facts: dict[str, Any], state: str, **kw: Any) -> None:
        with Session(self.engine) as s:
            row = s.get(InsightSummaryRow, (user, key)) or InsightSummaryRow(
                username=user, range_key=key, facts="", state=state, at=0.0
            )
            row.facts, row.state, row.at = json.dumps(facts, sort_keys=True), state, time.time()
            row.prose, row.reason, row.model = kw.get("prose"), kw.get("reason"), kw.get("model")
            s.add(row)
            s.commit()


class Summarizer:
    """Writes prose in the background, one task per user and range; never awaited by a request."""

    def __init__(self, store: SummaryStore, cfg: LlmConfig | None) -> None:
        self.store = store
        self.cfg = cfg
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._client: ApiClient | None = None
        if cfg:
            base = cfg.url.rstrip("/").removesuffix("/chat/completions")
            headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
            # one retry at most: a person is waiting for the page, and a 429 is shown rather than sat out
            self._client = ApiClient("llm", base + "/", _once(cfg.timeout_s), headers=headers)

    @property
    def configured(self) -> bool:
        return self.cfg is not None

    async def aclose(self) -> None:
        for task in self._running.values():
            task.cancel()
        if self._client:
            await self._client.aclose()

    async def ensure(self, user: str, key: str, facts: dict[str, Any], *, again: bool) -> dict[str, Any] | None:
        """The stored summary; starts writing one when there is none, or when asked to write it again."""
        stored = await asyncio.to_thread(self.store.get, user, key)
        if not self.configured:
            return stored
        if stored is not None and stored["state"] == "pending" and (user, key) not in self._running:
            # read again: a writer that ended after the first read has stored its answer before leaving _running
            stored = await asyncio.to_thread(self.store.get, user, key)
        # pending with nothing writing it: the gateway stopped while the LLM was asked; ask again. Another replica
        # may be writing it: only once the answer is overdue
        orphaned = (
            stored is not None
            and stored["state"] == "pending"
            and self.cfg is not None
            and time.time() - float(stored["at"]) > self.cfg.timeout_s + 10
        )
        if (stored is None or again or orphaned) and (user, key) not in self._running:
            await asyncio.to_thread(self.store.put, user, key, facts, "pending", model=self.cfg and self.cfg.model)
            task = asyncio.create_task(self._write(user, key, facts))
            self._running[(user, key)] = task
            task.add_done_callback(lambda _t: self._running.pop((user, key), None))
            stored = await asyncio.to_thread(self.store.get, user, key)
        return stored

    async def _write(self, user: str, key: str, facts: dict[str, Any]) -> None:
        assert self._client is not None and self.cfg is not None
        body = {
            "model": self.cfg.model,
            "messages": [
                {"role": "system", "content": _PROMPT},
                {"role": "user", "content": json.dumps(facts, sort_keys=True)},
            ],
            "temperature": 0.3,
        }
        try:
            resp = await asyncio.wait_for(
                self._client.request("POST", "chat/completions", json_body=body), self.cfg.timeout_s + 5
            )
            prose = str(resp.json()["choices"][0]["message"]["content"]).strip()
            if not prose:
                raise ValueError("empty answer")
        except TimeoutError:
            await self._fail(user, key, facts, f"the LLM did not answer within {self.cfg.timeout_s:.0f} s")
        except ExternalError as exc:
            await self._fail(user, key, facts, _reason(exc))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            await self._fail(user, key, facts, f"the LLM's answer could not be read ({type(exc).__name__})")
        else:
            await asyncio.to_thread(self.store.put, user, key, facts, "done", prose=prose, model=self.cfg.model)

    async def _fail(self, user: str, key: str, facts: dict[str, Any], reason: str) -> None:
        if self.cfg and self.cfg.api_key:
            reason = reason.replace(self.cfg.api_key, "***")
        log.warning("insights summary for %s failed: %s", user, reason)
        await asyncio.to_thread(
            self.store.put, user, key, facts, "failed", reason=reason, model=self.cfg.model if self.cfg else None
        )


def _once(timeout_s: float) -> HttpSettings:
    """The installation's HTTP settings (contact), with this timeout and no retry of its own."""
    return HttpSettings().model_copy(update={"timeout_s": timeout_s, "max_retries": 0})


def _reason(exc: ExternalError) -> str:
    if exc.reason == "rate_limited":
        return "the LLM is rate-limiting requests (429); ask again later"
    if exc.reason == "timeout":
        return "the LLM did not answer in time"
    if exc.status:
        return f"the LLM answered {exc.status} ({exc.reason})"
    return f"the LLM could not be reached ({exc.reason})"
