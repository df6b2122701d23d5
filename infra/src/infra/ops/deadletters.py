"""Dead letters: list them, show one, re-drive them onto their original subject.

A letter is a message of the DEADLETTER stream: the original bytes as body, what happened in `Brainstream-DL-*`
headers (see contracts.deadletter). Its id is its DEADLETTER sequence number.

Re-drive, and why it is safe:
1. The original bytes are published on the original subject with the original headers (minus the dead-letter
   ones) and a new `Nats-Msg-Id` of `redrive:<stream>:<seq>:<letter id>`. The original id would be dropped by the
   server's duplicate window; the new one is fixed per letter, so re-running a re-drive that was interrupted after
   the publish is itself dropped as a duplicate instead of delivering the message twice.
2. Only after JetStream acknowledged that publish is the letter deleted from DEADLETTER. A failed publish leaves
   the letter where it was, and the error is reported.
One original message dead-lettered by several consumers (a read model and a worker both failed on it) has one
letter per consumer; `redrive_all` puts it back once and removes all of its letters, because every consumer of the
subject sees the re-driven copy anyway.
Letters are re-driven 64 at a time, so re-driven messages keep their order only roughly; every stage is idempotent
and dead letters are independent failures, so nothing relies on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.deadletter import DeadLetter
from contracts.delivery import DeadLetterRedriven
from contracts.topology import DEAD_LETTER, subject_matches

from .scan import Stored, scan_stream

__all__ = [
    "Letter",
    "RedriveReport",
    "decode_body",
    "get_letter",
    "list_letters",
    "redrive",
    "redrive_all",
    "redriven_event",
]

log = logging.getLogger(__name__)

_DL_PREFIX = "Brainstream-DL-"
REDRIVEN_FROM = "Brainstream-Redriven-From"


@dataclass(frozen=True)
class Letter:
    id: int
    """Sequence number in the DEADLETTER stream."""
    info: DeadLetter | None
    """None when the headers are not a dead letter's (something else was published on deadletter.>)."""
    headers: dict[str, str]
    body: bytes

    @property
    def original(self) -> tuple[str, int]:
        return (self.info.stream, self.info.sequence) if self.info else ("", -self.id)

    @classmethod
    def from_stored(cls, stored: Stored) -> Letter:
        try:
            info: DeadLetter | None = DeadLetter.from_headers(stored.headers)
        except (KeyError, ValueError, ValidationError):
            info = None
        return cls(stored.seq, info, stored.headers, stored.data)

    def summary(self) -> dict[str, Any]:
        i = self.info
        return {
            "id": self.id,
            "subject": i.subject if i else "",
            "reason": i.reason.value if i else "malformed",
            "deliveries": i.deliveries if i else 0,
            "consumer": i.consumer if i else "",
            "original": f"{i.stream}#{i.sequence}" if i else "",
            "failed_at": i.failed_at if i else "",
            "detail": i.detail if i else "headers are not a dead letter's",
        }


def decode_body(body: bytes) -> Any:
    """The body as JSON when it is JSON, else as text when it is UTF-8, else None (show it as bytes)."""
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _wanted(letter: Letter, reason: str | None, subject: str | None) -> bool:
    if reason and (letter.info.reason.value if letter.info else "malformed") != reason:
        return False
    return not subject or (letter.info is not None and subject_matches(subject, letter.info.subject))


async def list_letters(
    js: JetStreamContext, *, reason: str | None = None, subject: str | None = None, limit: int | None = None
) -> list[Letter]:
    """Letters in the order they were dead-lettered, optionally by reason or original subject (wildcards ok)."""
    out: list[Letter] = []
    async with contextlib.aclosing(scan_stream(js, DEAD_LETTER.name)) as stored_letters:
        async for stored in stored_letters:
            letter = Letter.from_stored(stored)
            if _wanted(letter, reason, subject):
                out.append(letter)
                if limit is not None and len(out) >= limit:
                    break
    return out


async def get_letter(js: JetStreamContext, letter_id: int) -> Letter | None:
    try:
        raw = await js.get_msg(DEAD_LETTER.name, letter_id)
    except NotFoundError:
        return None
    return Letter.from_stored(Stored(DEAD_LETTER.name, letter_id, raw.subject or "", raw.data or b"",
                                     dict(raw.headers or {}), None))  # fmt: skip


@dataclass
class RedriveReport:
    redriven: list[int] = field(default_factory=list)
    """Letter ids removed because their message is back on its subject."""
    published: int = 0
    """Messages put back (one per original message, however many letters it had)."""
    failed: dict[int, str] = field(default_factory=dict)
    """Letter ids left in place, with the error."""


def _republish_headers(letters: list[Letter]) -> dict[str, str]:
    first = letters[0]
    headers = {k: v for k, v in first.headers.items() if not k.startswith(_DL_PREFIX) and k != "Nats-Msg-Id"}
    stream, seq = first.original
    headers["Nats-Msg-Id"] = f"redrive:{stream}:{seq}:{min(letter.id for letter in letters)}"
    headers[REDRIVEN_FROM] = ",".join(f"{DEAD_LETTER.name}#{letter.id}" for letter in letters)
    return headers


async def _redrive_group(js: JetStreamContext, letters: list[Letter], report: RedriveReport) -> None:
    first = letters[0]
    if first.info is None:
        for letter in letters:
            report.failed[letter.id] = "not a dead letter: no original subject to re-drive to"
        return
    try:
        await js.publish(first.info.subject, first.body, headers=_republish_headers(letters), timeout=5.0)
    except (NatsError, OSError, TimeoutError) as exc:
        for letter in letters:
            report.failed[letter.id] = f"publish failed, letter kept: {type(exc).__name__}: {exc}"
        return
    report.published += 1
    await _tell_redriven(js, letters)
    for letter in letters:
        try:
            await _delete(js, letter.id)
        except (NatsError, OSError, TimeoutError, ValueError) as exc:
            # the copy is out; a later re-drive of this letter is dropped by the server as a duplicate
            report.failed[letter.id] = f"re-driven, but the letter could not be removed: {exc}"
            continue
        report.redriven.append(letter.id)


_REDRIVEN = uuid.UUID("0b8e7d0e-5d0c-4a43-9f0e-6f5b1f7d3c21")


def redriven_event(letters: list[Letter]) -> DeadLetterRedriven:
    """The fact that these letters' message is back on its subject, in the journey the message belongs to."""
    first = letters[0]
    envelope: dict[str, Any] = {}
    body = decode_body(first.body)
    if isinstance(body, dict):
        for key, field_name in (("correlation_id", "correlation_id"), ("event_id", "causation_id")):
            with contextlib.suppress(ValueError, TypeError):
                envelope[field_name] = uuid.UUID(str(body.get(key)))
        if isinstance(body.get("user"), str):
            envelope["user"] = body["user"]
    ids = sorted(letter.id for letter in letters)
    return DeadLetterRedriven(
        event_id=uuid.uuid5(_REDRIVEN, ",".join(map(str, ids))),
        letter_ids=ids,
        message_subject=first.info.subject if first.info else "",
        **envelope,
    )


async def _tell_redriven(js: JetStreamContext, letters: list[Letter]) -> None:
    event = redriven_event(letters)
    try:
        await js.publish(event.subject, event.to_json(), headers={"Nats-Msg-Id": str(event.event_id)}, timeout=5.0)
    except (NatsError, OSError, TimeoutError) as exc:  # the message is back either way; only the journey's note is lost
        log.warning("re-driven %s, but could not record it on its journey: %s", event.letter_ids, exc)


async def _delete(js: JetStreamContext, letter_id: int) -> None:
    """Delete without the secure erase nats-py asks for: overwriting each letter's bytes on disk halves re-drive
    throughput, and a dead letter holds nothing a plain delete would leak."""
    reply = await js._nc.request(  # the stream API itself; nats-py's delete_msg cannot skip the erase
        f"$JS.API.STREAM.MSG.DELETE.{DEAD_LETTER.name}", json.dumps({"seq": letter_id, "no_erase": True}).encode(),
        timeout=5.0,
    )  # fmt: skip
    answer = json.loads(reply.data)
    error = answer.get("error")
    if error and error.get("err_code") != _NO_MESSAGE_FOUND:  # removed meanwhile: the message is back either way
        raise ValueError(f"delete refused: {error.get('description', error)}")


_NO_MESSAGE_FOUND = 10037
_WINDOW = 64
"""Letters re-driven at once. Each original message's publish still precedes the deletion of its letters."""


async def redrive(js: JetStreamContext, letter_ids: Iterable[int]) -> RedriveReport:
    """Re-drive the given letters, each on its own (an unknown id is reported as failed)."""
    report = RedriveReport()
    groups: list[list[Letter]] = []
    for letter_id in letter_ids:
        letter = await get_letter(js, letter_id)
        if letter is None:
            report.failed[letter_id] = "no such dead letter"
        else:
            groups.append([letter])
    await _redrive_groups(js, groups, report)
    return report


async def _redrive_groups(js: JetStreamContext, groups: list[list[Letter]], report: RedriveReport) -> None:
    for i in range(0, len(groups), _WINDOW):
        await asyncio.gather(*(_redrive_group(js, group, report) for group in groups[i : i + _WINDOW]))


async def redrive_all(js: JetStreamContext, *, reason: str | None = None, subject: str | None = None) -> RedriveReport:
    """Re-drive every letter (optionally by reason or subject), each original message once."""
    groups: dict[tuple[str, int], list[Letter]] = {}
    for letter in await list_letters(js, reason=reason, subject=subject):
        groups.setdefault(letter.original, []).append(letter)
    report = RedriveReport()
    await _redrive_groups(js, list(groups.values()), report)
    return report
