"""What each pipeline event means for a track: its stage, its new state, a failure reason and known facts.

Pure: contracts in, a `Step` out. The projection writes it; the UI and API read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contracts import acquire, delivery, gateway, ingest, library, resolve
from contracts.base import Message
from contracts.common import TrackMetadata

from ..gatekey import request_key

__all__ = ["STAGES", "Step", "step_for"]

STAGES = ("requested", "discovered", "resolved", "downloaded", "validated", "tagged", "imported")
"""The happy path, in order; `failed`, `skipped` and `removed` end a journey elsewhere."""


@dataclass(frozen=True)
class Step:
    stage: str
    state: str | None
    """The track's new state; None leaves it (a rejected candidate while others are tried)."""
    failure: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    says: str = ""
    """What the live feed adds after the track's name, when it is not the failure."""
    begins: bool = True
    """Whether this step may begin a journey the model has not seen; a delivery fact about a message that is no
    journey's (a run command, a scan) must not invent one."""


def _meta(track: TrackMetadata) -> dict[str, Any]:
    return {
        "recording_mbid": str(track.recording_mbid),
        "artist": track.artist,
        "title": track.title,
        "album": track.album,
        "album_artist": track.album_artist,
        "year": track.year,
        "cover_url": track.cover.url if track.cover else None,
    }


def step_for(event: Message) -> Step | None:
    """The step a message is in a track's journey, or None when it is not about one track."""
    match event:
        case gateway.RequestTrack(query=q, url=url, request_id=rid):
            facts = {
                "request_id": str(rid),
                "origin": "manual",
                "query_json": q.model_dump_json(),
                "gate_key": request_key(q, url),
            }
            if q.recording_mbid:
                facts["recording_mbid"] = str(q.recording_mbid)
            facts |= {k: v for k, v in (("artist", q.artist), ("title", q.title), ("album", q.album)) if v}
            what = url or " - ".join(x for x in (q.artist, q.title) if x) or str(q.recording_mbid)
            return Step("requested", "requested", facts=facts, detail=f"requested {what}")
        case gateway.RetryTrack(rematch_mbid=mbid):
            return Step("retry", "requested", detail=f"rematch with {mbid}" if mbid else "retry requested")
        case gateway.RemoveTrack(track_id=tid):
            return Step("removal", None, detail=f"removal of {tid} requested")
        case ingest.CandidateDiscovered() as e:
            facts = {"recording_mbid": str(e.recording_mbid), "origin": e.source.value, "run_id": str(e.run_id)}
            facts |= {k: v for k, v in (("artist", e.artist), ("title", e.title)) if v}
            return Step("discovered", "discovered", facts=facts, detail=f"{e.source.value} #{e.position}")
        case resolve.TrackResolved() as e:
            ex = e.explanation
            return Step(
                "resolved", "resolved", facts=_meta(e.track), detail=f"{ex.method.value}, distance {ex.distance:.3f}"
            )
        case resolve.TrackUnresolved() as e:
            why = ", ".join(p.name for p in e.top_penalties[:3])
            reason = f"unresolved: {e.reason.value}" + (f" ({why})" if why else "")
            return Step("unresolved", "failed", failure=reason, detail=f"{e.candidate_count} candidates")
        case acquire.UrlInspected(query=q, source=source):
            facts = {k: v for k, v in (("artist", q.artist), ("title", q.title), ("album", q.album)) if v}
            if q.recording_mbid:
                facts["recording_mbid"] = str(q.recording_mbid)
            where = "the file's tags" if source is acquire.UrlMetadataSource.FILE_TAGS else "the page"
            named = " - ".join(x for x in (q.artist, q.title) if x) or str(q.recording_mbid)
            return Step("inspected", None, facts=facts, detail=f"{where} say {named}")
        case acquire.UrlRejected() as e:
            reason = f"URL rejected: {e.reason.value}" + (f" ({e.detail})" if e.detail else "")
            return Step("url_rejected", "failed", failure=reason, detail=e.url)
        case acquire.AcquisitionSkipped() as e:
            return Step("skipped", "skipped", failure=f"skipped: {e.reason.value}")
        case acquire.TrackDownloaded() as e:
            return Step("downloaded", "downloaded", detail=f"{e.backend} {e.candidate_id}, {e.size_bytes} bytes")
        case acquire.CandidateRejected() as e:
            return Step("rejected", None, detail=f"{e.backend} {e.candidate_id}: {e.reason.value} {e.detail}".strip())
        case acquire.TrackValidated() as e:
            rate = f" {e.bitrate_kbps} kbps" if e.bitrate_kbps else ""
            return Step("validated", "validated", detail=f"{e.codec}{rate}, {e.duration_ms / 1000:.0f}s")
        case acquire.TrackTagged() as e:
            return Step("tagged", "tagged", facts=_meta(e.track), detail=f"{e.format}, {e.size_bytes} bytes")
        case acquire.AcquisitionFailed() as e:
            reason = f"acquisition failed: {e.reason.value}" + (f" ({e.detail})" if e.detail else "")
            return Step("failed", "failed", failure=reason, detail=f"{len(e.rejected)} candidates rejected")
        case library.TrackImported() as e:
            facts = {"recording_mbid": str(e.recording_mbid), "library_track_id": e.track_id, "path": e.path}
            return Step("imported", "imported", facts=facts, detail=e.path)
        case library.ImportFailed() as e:
            reason = f"import failed: {e.reason.value}" + (f" ({e.detail})" if e.detail else "")
            return Step("import_failed", "failed", failure=reason)
        case library.TrackRemoved() as e:
            return Step("removed", "removed", detail=e.path)
        case delivery.AttemptFailed() | delivery.MessageDeadLettered() | delivery.DeadLetterRedriven():
            return _delivery_step(event)
    return None


_STAGE_OF = {
    "ingest-svc": "ingest",
    "resolve-svc": "resolve",
    "acquire-svc": "acquire",
    "library-svc": "import",
    "library_commands": "library",
}


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC)


def _delivery_step(
    event: delivery.AttemptFailed | delivery.MessageDeadLettered | delivery.DeadLetterRedriven,
) -> Step | None:
    """Retries and dead letters of a journey's messages. The gateway's own read-model consumers are left out: their
    trouble is the view's, not the track's."""
    if isinstance(event, delivery.DeadLetterRedriven):
        ids = ", ".join(f"#{i}" for i in event.letter_ids)
        return Step(
            "redriven",
            "retrying",
            facts={"redriven": event.letter_ids, "retry_at": _utc(event.occurred_at)},
            detail=f"dead letter {ids} re-driven",
            says="re-driven from the dead letters",
            begins=False,
        )
    if event.consumer.startswith("gateway_view_"):
        return None
    stage = _STAGE_OF.get(event.consumer) or _STAGE_OF.get(event.service, event.service)
    facts: dict[str, Any] = {"last_error": event.error, "upstream": event.upstream}
    if isinstance(event, delivery.AttemptFailed):
        facts |= {
            "retry_stage": stage,
            "retry_attempt": event.attempt,
            "retry_limit": event.max_attempts,
            "retry_at": _utc(event.retry_at),
        }
        when = _utc(event.retry_at).strftime("%H:%M:%S")
        return Step(
            "retrying",
            "retrying",
            facts=facts,
            detail=f"{stage} attempt {event.attempt} of {event.max_attempts} failed: {event.error}; "
            f"next attempt at {when} UTC",
            says=f"{stage} attempt {event.attempt} of {event.max_attempts} failed: {event.error}",
            begins=False,
        )
    if event.reason.value == "exhausted":
        failure = f"{stage} gave up after {event.deliveries} attempts: {event.error}"
    elif event.reason.value == "lost_final_attempt":
        failure = f"{stage} lost its last attempt ({event.error})"
    else:
        failure = f"{stage} could not read the message: {event.error}"
    facts["dead_letter"] = event.letter_id
    letter = f"dead letter #{event.letter_id}" if event.letter_id is not None else "dead-lettered"
    return Step(
        "dead_lettered", "failed", failure=failure, facts=facts, detail=f"{letter}: {event.reason.value}", begins=False
    )
