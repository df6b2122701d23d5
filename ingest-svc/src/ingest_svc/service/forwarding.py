"""Plays from Subsonic clients and speakers sent on to the user's ListenBrainz and Last.fm, once each.

Per play and target, the `forward_ledger` KV bucket holds where the send stands:
- absent: never tried → mark `sending`, send, mark `sent`;
- `sending`: a send began and its outcome was never recorded (a crash or a timeout between the send and the
  mark). The target is asked whether the play landed; if it did, mark `sent` without sending again;
- `sent`: done, skip (a redelivery).
A failure of the target (down, 429, Last.fm error 29/11/16, a timeout) raises: the message is redelivered with the
consumer's back-off, so an upstream that is away delays the play and loses nothing.

Only plays that reached BrainStream first are sent: a play that came from ListenBrainz or Last.fm is never sent
back to either (no echo loop); the forwarded copy, read back on the next poll, merges with its Subsonic original in
the history store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from contracts.gateway import NowPlayingReported
from contracts.ingest import ListenRecorded
from contracts.livesettings import UserAccounts
from infra.http import ClientError, ExternalError

from ..adapters.scrobble_targets import OutgoingPlay

__all__ = ["FORWARDED_SOURCES", "Forwarder", "Ledger", "Target", "now_playing_of", "outgoing"]

log = logging.getLogger(__name__)

FORWARDED_SOURCES = frozenset({"subsonic", "sonos"})
"""Sources whose plays nobody else has seen: only these are sent on."""


class Target(Protocol):
    name: str

    async def submit(self, secret: str, play: OutgoingPlay) -> None: ...

    async def now_playing(self, secret: str, play: OutgoingPlay) -> None: ...

    async def landed(self, user: str, secret: str, play: OutgoingPlay) -> bool: ...


class Ledger(Protocol):
    async def state(self, key: str) -> str | None: ...

    async def mark(self, key: str, state: str) -> None: ...


@dataclass(frozen=True)
class Credentials:
    secret: str
    account: str | None


def credentials(target: str, accounts: UserAccounts) -> Credentials | None:
    """The user's secret for a target, or None when forwarding there is off or not set up."""
    if target == "listenbrainz" and accounts.forward_listenbrainz and accounts.listenbrainz_token:
        return Credentials(accounts.listenbrainz_token, accounts.listenbrainz_user)
    if target == "lastfm" and accounts.forward_lastfm and accounts.lastfm_session_key:
        return Credentials(accounts.lastfm_session_key, accounts.lastfm_user)
    return None


def outgoing(event: ListenRecorded) -> OutgoingPlay:
    return OutgoingPlay(
        listen_id=event.event_id,
        listened_at=int(event.listened_at.timestamp()),
        artist=event.artist,
        title=event.title,
        album=event.album,
        duration_ms=event.duration_ms,
        recording_mbid=event.recording_mbid if event.trusted_mbid() else None,
        isrc=event.isrc,
        client=event.source_ids.get("client"),
    )


def now_playing_of(event: NowPlayingReported) -> OutgoingPlay | None:
    """What a client plays now, as the targets take it; None without artist and title (nothing to tell)."""
    if not (event.artist and event.title):
        return None
    return OutgoingPlay(
        listen_id=event.event_id,
        listened_at=int(event.occurred_at.timestamp()),
        artist=event.artist,
        title=event.title,
        album=event.album,
        duration_ms=event.duration_ms,
        recording_mbid=event.recording_mbid,
        client=event.client,
    )


class Forwarder:
    def __init__(self, targets: list[Target], ledger: Ledger) -> None:
        self.targets = targets
        self.ledger = ledger
        self.sent: dict[str, int] = {t.name: 0 for t in targets}

    async def forward(self, event: ListenRecorded, accounts: UserAccounts | None) -> list[str]:
        """Send the play to each target it should reach; returns the targets it was sent to by this call."""
        if str(event.source) not in FORWARDED_SOURCES or accounts is None or not event.artist or not event.title:
            return []
        play = outgoing(event)
        done: list[str] = []
        for target in self.targets:
            creds = credentials(target.name, accounts)
            if creds is None:
                continue
            key = f"{event.user}.{target.name}.{event.event_id}"
            state = await self.ledger.state(key)
            if state in ("sent", "refused"):
                continue
            if state == "sending" and creds.account and await target.landed(creds.account, creds.secret, play):
                log.info("%s: play %s had landed before a crash; not sent again", target.name, event.event_id)
                await self.ledger.mark(key, "sent")
                continue
            await self.ledger.mark(key, "sending")
            try:
                await target.submit(creds.secret, play)
            except ClientError as exc:
                if exc.reason in ("unauthorized", "ignored", "client_error"):
                    # a revoked token or a play the target refuses will not change by trying again
                    log.warning("%s refused play %s of %s: %s", target.name, event.event_id, event.user, exc.reason)
                    await self.ledger.mark(key, "refused")
                    continue
                raise
            await self.ledger.mark(key, "sent")
            self.sent[target.name] += 1
            done.append(target.name)
        return done

    async def now_playing(self, user: str, play: OutgoingPlay, accounts: UserAccounts | None) -> None:
        """Tell each target what the user is playing now; best effort, it is not a listen."""
        if accounts is None:
            return
        for target in self.targets:
            creds = credentials(target.name, accounts)
            if creds is None:
                continue
            try:
                await target.now_playing(creds.secret, play)
            except ExternalError as exc:
                # stale in minutes: a failure is reported, not retried for long
                log.warning("%s: now playing of %s not sent: %s", target.name, user, exc.reason)
