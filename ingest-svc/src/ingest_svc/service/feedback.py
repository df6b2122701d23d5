"""ListenBrainz recording feedback, both ways.

Sending: library-svc's decisions reach the user's ListenBrainz as feedback: a discovery kept or restored is `+1`
(love), a hated one `-1` (hate), through `/1/feedback/recording-feedback` with the user's token. Per user, recording
and score, the `feedback_ledger` KV bucket holds where the send stands, as `forward_ledger` does for plays:
- absent: never tried → mark `sending`, send, mark `sent`, publish `FeedbackSent`;
- `sending`: a send began and its outcome was never recorded (a crash between the POST and the mark). ListenBrainz
  is asked which score the user gives the recording now; if it is this one, mark `sent` without sending again;
- `sent`: done, skip (a redelivery). Sending a score forgets the opposite one, so keep → hate → restore sends
  `+1`, `-1` and `+1` again;
- `refused`: ListenBrainz refused the token or the request (401, 400): trying again cannot help.
One recording of one user is sent for one decision at a time: a restore publishes both `DiscoveryRestored` and
`DiscoveryKept`, which the consumer may hand over together, and both would otherwise find the ledger empty. Within a
process a lock serialises them; across replicas the first send claims its ledger entry atomically (a KV create), and
a decision that finds it claimed by another process comes back later (`SentElsewhere`), when it reads `sent`.
A failure of ListenBrainz (down, 429, a timeout) raises: the message comes back with the consumer's back-off.
A decision that came from ListenBrainz itself (a `+1` or `-1` read back) is not sent back to it, and a user without
a ListenBrainz token is skipped with a log line.

Reading back: on each run of a user, the feedback given on the website (`/1/feedback/user/{user}/get-feedback`,
newest first, one score at a time) is published as `FeedbackReceived` once each: the event id is derived from
(user, recording, score, created), and the `ingest_cursors` entry `feedback.<user>` keeps the newest `created` seen
(and the recordings seen at that second), so a later run publishes only what is newer. Feedback this service sent
itself (its ledger says `sending` or `sent`) is not read back as the user's.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

from nats.errors import Error as NatsError

from contracts.discovery import (
    DiscoveryHated,
    DiscoveryKept,
    DiscoveryRestored,
    FeedbackReceived,
    FeedbackSent,
    KeepReason,
)
from contracts.livesettings import UserAccounts
from infra.http import ClientError, ExternalError

from ..ports import CursorStore, EventPublisher, FeedbackItem, RecommendationSource
from .failures import poll_failed

__all__ = [
    "FEEDBACK_NAMESPACE",
    "FeedbackReader",
    "FeedbackSender",
    "FeedbackTarget",
    "SentElsewhere",
    "feedback_of",
    "ledger_key",
]

log = logging.getLogger(__name__)

FEEDBACK_NAMESPACE = uuid.UUID("7f3e9c2a-5b1d-4e8f-a6c4-2d9b8e1f0a37")

Decision = DiscoveryKept | DiscoveryHated | DiscoveryRestored


class FeedbackTarget(Protocol):
    async def send(self, token: str, recording_mbid: UUID, score: int) -> None: ...

    async def score_of(self, user: str, token: str, recording_mbid: UUID) -> int: ...


class Ledger(Protocol):
    async def state(self, key: str) -> str | None: ...

    async def mark(self, key: str, state: str) -> None: ...

    async def forget(self, key: str) -> None: ...

    async def claim(self, key: str, state: str) -> bool: ...


IN_FLIGHT_S = 15.0
"""A claim younger than this is a send still under way in another process (longer than ListenBrainz's answer takes);
an older one was left by a crash."""


def _claimed_within(state: str, seconds: float) -> bool:
    _, _, stamp = state.partition("@")
    try:
        return time.time() - float(stamp) < seconds
    except ValueError:  # a bare `sending`, from before claims carried their time: a crash's
        return False


class SentElsewhere(Exception):
    """Another process claimed this feedback a moment ago and is sending it: ask again later."""


def _kv_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_=-]", "_", text)


def ledger_key(user: str, recording_mbid: UUID, score: int) -> str:
    return f"{_kv_safe(user)}.{recording_mbid}.{'love' if score > 0 else 'hate'}"


@dataclass(frozen=True)
class Feedback:
    score: int
    cause: str


def feedback_of(event: Decision) -> Feedback | None:
    """The feedback a decision sends, or None when it came from ListenBrainz in the first place."""
    if isinstance(event, DiscoveryKept):
        return None if event.reason == KeepReason.LOVED else Feedback(1, "kept")
    if isinstance(event, DiscoveryRestored):
        return Feedback(1, "restored")
    return None if event.how == "listenbrainz" else Feedback(-1, "hated")


class FeedbackSender:
    def __init__(self, target: FeedbackTarget, ledger: Ledger, publisher: EventPublisher) -> None:
        self.target = target
        self.ledger = ledger
        self.publisher = publisher
        self.sent = 0
        self._busy: weakref.WeakValueDictionary[tuple[str, UUID], asyncio.Lock] = weakref.WeakValueDictionary()
        """One lock per (user, recording) while a decision about it is being sent; gone once nobody holds it."""

    async def send(self, event: Decision, accounts: UserAccounts | None) -> bool:
        """Send the feedback `event` calls for; True when this call sent it."""
        lock = self._busy.setdefault((event.user or "", event.recording_mbid), asyncio.Lock())
        async with lock:
            return await self._send(event, accounts)

    async def _send(self, event: Decision, accounts: UserAccounts | None) -> bool:
        feedback = feedback_of(event)
        user = event.user
        if feedback is None or not user:
            return False
        if accounts is None or not accounts.listenbrainz_token:
            log.info(
                "no ListenBrainz token for %s: feedback %+d on %s (%s) not sent",
                user,
                feedback.score,
                event.recording_mbid,
                feedback.cause,
            )
            return False
        token, score, mbid = accounts.listenbrainz_token, feedback.score, event.recording_mbid
        key = ledger_key(user, mbid, score)
        state = await self.ledger.state(key)
        if state in ("sent", "refused"):
            return False
        lb_user = accounts.listenbrainz_user or user
        sending = state is not None and state.startswith("sending")
        busy = SentElsewhere(f"feedback {score:+d} on {mbid} for {user} is being sent by another process")
        if sending and _claimed_within(state or "", IN_FLIGHT_S):
            raise busy
        if sending and await self.target.score_of(lb_user, token, mbid) == score:
            log.info("feedback %+d on %s for %s had landed before a crash; not sent again", score, mbid, user)
            await self._done(key, event, feedback)
            return False
        claim = f"sending@{time.time():.3f}"
        if state is None and not await self.ledger.claim(key, claim):
            raise busy
        if sending:
            await self.ledger.mark(key, claim)
        try:
            await self.target.send(token, mbid, score)
        except ClientError as exc:
            if exc.reason in ("unauthorized", "client_error"):
                # a revoked token or a request ListenBrainz refuses will not change by trying again
                log.warning("ListenBrainz refused feedback %+d on %s for %s: %s", score, mbid, user, exc.reason)
                await self.ledger.mark(key, "refused")
                return False
            await self._unclaim(key)
            raise
        except BaseException:
            await self._unclaim(key)
            raise
        await self._done(key, event, feedback)
        self.sent += 1
        log.info("feedback %+d on %s sent to ListenBrainz for %s (%s)", score, mbid, user, feedback.cause)
        return True

    async def _unclaim(self, key: str) -> None:
        """A send that failed (429, a timeout, cancelled) may or may not have landed: a bare `sending` has the next
        try ask ListenBrainz first, at once, instead of waiting out the claim."""
        try:
            await self.ledger.mark(key, "sending")
        except (NatsError, OSError, TimeoutError) as exc:  # the message comes back: a claim left only delays it
            log.warning("feedback ledger %s not released after a failed send: %s", key, exc)

    async def _done(self, key: str, event: Decision, feedback: Feedback) -> None:
        await self.ledger.mark(key, "sent")
        # the opposite score may be sent again later (hate after keep, restore after hate)
        await self.ledger.forget(ledger_key(event.user or "", event.recording_mbid, -feedback.score))
        await self.publisher.publish(
            FeedbackSent(  # not `caused_by`: its keyword `cause` is a field here
                correlation_id=event.correlation_id,
                causation_id=event.event_id,
                user=event.user,
                event_id=uuid.uuid5(FEEDBACK_NAMESPACE, f"sent:{event.event_id}"),
                recording_mbid=event.recording_mbid,
                score=feedback.score,
                cause=feedback.cause,
            )
        )


class FeedbackReader:
    def __init__(
        self,
        source: RecommendationSource,
        cursors: CursorStore,
        ledger: Ledger,
        publisher: EventPublisher,
        *,
        page_size: int = 100,
        max_pages: int = 100,
    ) -> None:
        self.source = source
        self.cursors = cursors
        self.ledger = ledger
        self.publisher = publisher
        self.page_size = page_size
        self.max_pages = max_pages

    async def read_back(self, user: str, acc: UserAccounts) -> int:
        """Publish the feedback given on the website since the last read; returns how many. A failure of
        ListenBrainz is reported (`PollFailed`) and the cursor stays: the next run reads it again."""
        lb_user = acc.listenbrainz_user
        if not lb_user:
            return 0
        newest, seen_at_newest = await self.cursors.feedback(user)
        fresh: list[FeedbackItem] = []
        try:
            for score in (1, -1):
                fresh += await self._newer(lb_user, acc.listenbrainz_token, score, newest, seen_at_newest)
        except ExternalError as exc:
            log.warning("feedback of %s not read back: %s", user, exc)
            await self.publisher.publish(poll_failed(user, "feedback", exc))
            return 0
        published = 0
        for item in sorted(fresh, key=lambda f: f.created):
            state = await self.ledger.state(ledger_key(user, item.recording_mbid, item.score))
            if state is not None and (state == "sent" or state.startswith("sending")):
                continue  # ours, sent from a decision made here: not the user's word on the website
            await self.publisher.publish(
                FeedbackReceived(
                    event_id=uuid.uuid5(
                        FEEDBACK_NAMESPACE, f"received:{user}:{item.recording_mbid}:{item.score}:{item.created}"
                    ),
                    user=user,
                    recording_mbid=item.recording_mbid,
                    score=item.score,
                    created=datetime.fromtimestamp(item.created, UTC),
                )
            )
            published += 1
        if fresh:
            top = max(f.created for f in fresh)
            keys = {_seen(f) for f in fresh if f.created == top}
            if top == newest:
                keys |= seen_at_newest
            await self.cursors.save_feedback(user, top, keys)
        if published:
            log.info("%d feedback of %s read back from ListenBrainz", published, user)
        return published

    async def _newer(
        self, lb_user: str, token: str | None, score: int, newest: int, seen: set[str]
    ) -> list[FeedbackItem]:
        """The feedback of one score newer than the cursor (pages are newest first: stop at the first older)."""
        out: list[FeedbackItem] = []
        for page_no in range(self.max_pages):
            page = await self.source.feedback(lb_user, score, page_no * self.page_size, self.page_size, token)
            for item in page.items:
                if item.created < newest:
                    return out
                if item.created == newest and _seen(item) in seen:
                    continue
                out.append(item)
            if page.complete:
                return out
        log.warning("feedback of %s: more than %d pages; older feedback is not read", lb_user, self.max_pages)
        return out


def _seen(item: FeedbackItem) -> str:
    return f"{item.recording_mbid}:{item.score}"
