"""Recording search on request: a core NATS request on `lookup.recordings`, answered by resolve-svc.

For a person choosing what to request (the web UI's candidate list), not for the pipeline: the answer comes from
resolve-svc's MusicBrainz client, so it spends the same shared budget (1 request/s across every replica) and uses the
same cache. The subject is outside every stream on purpose: a stream would store the request and answer it with an
ack. resolve-svc replicas share it as a queue group, so each request is answered once.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from .base import Model

__all__ = ["LOOKUP_QUEUE", "LOOKUP_SUBJECT", "RecordingCandidate", "RecordingCandidates", "SearchRecordings"]

LOOKUP_SUBJECT = "lookup.recordings"
LOOKUP_QUEUE = "resolve-svc"


class SearchRecordings(Model):
    artist: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    limit: int = Field(default=8, ge=1, le=25)


class RecordingCandidate(Model):
    recording_mbid: UUID
    title: str
    artist: str
    length_ms: int | None = None
    disambiguation: str = ""
    release: str | None = Field(default=None, description="The release it is best known from (studio album first).")
    release_mbid: UUID | None = None
    year: int | None = None
    distance: float = Field(ge=0, description="How far from what was typed: 0 is an exact match.")


class RecordingCandidates(Model):
    candidates: list[RecordingCandidate] = Field(default_factory=list)
    unavailable: str | None = Field(default=None, description="Set when MusicBrainz could not be asked now, and why.")
