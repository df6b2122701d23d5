"""Events said in words for the live feed, and what a finished run amounts to.

Pure: contracts in, text out. A journey's steps are worded by `steps.py`; this covers everything else.
"""

from __future__ import annotations

from contracts import delivery, gateway, ingest, library
from contracts.base import Message

__all__ = ["describe", "run_outcome"]

_SOURCES = {
    "listenbrainz": "ListenBrainz listens",
    "lastfm": "Last.fm listens",
    "spotify": "Spotify listens",
    "cf": "ListenBrainz recommendations",
    "radio": "LB Radio",
    "sonos": "Sonos",
}
_POLL_REASONS = {
    "rate_limited": "rate-limited",
    "unauthorized": "refused the account (check its token)",
    "private_user": "the user's data is private",
    "not_found": "no such user",
    "bad_response": "answered wrongly",
    "unavailable": "unreachable",
    "timeout": "did not answer in time",
}


def _who(event: Message) -> str:
    return event.user or "everyone"


def run_outcome(e: ingest.RecommendationRunCompleted) -> tuple[str, str | None]:
    """`done`, or `empty` with the reason nothing came of it."""
    found = e.cf_count + e.radio_count
    partial = "; ".join(e.failures)
    if found:
        return "done", (f"partly: {partial}" if partial else None)
    if e.failures:
        why = f"nothing new; {partial}"
    elif e.duplicates_skipped:
        why = f"nothing new: all {e.duplicates_skipped} recommendations are already wanted or in the library"
    elif e.cf_exhausted:
        why = "nothing new: ListenBrainz has no more recommendations for this user yet"
    else:
        why = "nothing new: ListenBrainz recommended nothing"
    return "empty", why


def describe(event: Message) -> str:
    """One line a person reads in the live feed, for an event that is not a step of a journey."""
    match event:
        case ingest.RecommendationRunStarted() as e:
            return f"Recommendation run started for {_who(e)} ({e.trigger}, {e.run_size} tracks)"
        case ingest.RecommendationRunCompleted() as e:
            outcome, why = run_outcome(e)
            if outcome == "empty":
                return f"Recommendation run for {_who(e)}: {why}"
            return f"Recommendation run for {_who(e)}: {e.cf_count} CF + {e.radio_count} radio candidates"
        case ingest.RecommendationRunFailed() as e:
            return f"Recommendation run for {_who(e)} failed: {e.detail}"
        case ingest.ModelRetrained() as e:
            return f"ListenBrainz retrained the recommendations of {_who(e)}: back to the first page"
        case ingest.ListenRecorded() as e:
            return f"{_who(e)} listened to {e.artist} - {e.title}"
        case ingest.PollFailed() as e:
            source = _SOURCES.get(e.source, e.source)
            return f"{source} of {_who(e)}: {_POLL_REASONS.get(e.reason.value, e.reason.value)}"
        case gateway.StartRun() as e:
            return f"{_who(e)} asked for a recommendation run"
        case gateway.StartScan(full=full):
            return "Full library scan requested" if full else "Library scan requested"
        case gateway.ScrobbleSubmitted() as e:
            what = " - ".join(x for x in (e.artist, e.title) if x) or e.song_id
            return f"{_who(e)} played {what}"
        case gateway.SettingsChanged() as e:
            return f"Settings changed: {', '.join(e.keys)}"
        case library.ScanCompleted() as e:
            return f"Library scan done: {e.added} added, {e.updated} updated, {e.removed} removed"
        case library.ScanFailed() as e:
            return f"Library scan failed: {e.reason}" + (f" ({e.detail})" if e.detail else "")
        case library.ScrobbleRecorded() as e:
            return f"{_who(e)} played {e.artist} - {e.title}"
        case delivery.AttemptFailed() as e:
            return f"{e.service}: attempt {e.attempt} of {e.max_attempts} failed: {e.error}"
        case delivery.MessageDeadLettered() as e:
            return f"{e.service} gave up on a message ({e.reason.value}): {e.error}"
        case delivery.DeadLetterRedriven() as e:
            return f"Dead letters {', '.join(f'#{i}' for i in e.letter_ids)} re-driven"
    return event.subject.replace(".", " ").replace("_", " ").capitalize()
