"""Streams and durable consumers, declared once here and provisioned from this by infra (KV buckets: `buckets`).

Each stream belongs to the context that produces into it; only that owner declares it and everyone else binds.
"""

from __future__ import annotations

from pydantic import Field

from .base import Model

__all__ = [
    "CONSUMERS",
    "DEAD_LETTER",
    "DELIVERY",
    "STREAMS",
    "ConsumerSpec",
    "KvSpec",
    "StreamSpec",
    "consumers_of",
    "stream_named",
    "subject_matches",
]

MiB = 1024 * 1024
DAY = 86_400.0


class StreamSpec(Model):
    name: str
    subjects: list[str]
    owner: str
    description: str
    max_bytes: int = 256 * MiB
    max_age_s: float = 0.0
    """0 keeps events until the size cap: the streams are the pipeline's memory and the source of every replay."""
    duplicate_window_s: float = 600.0
    """A re-publish of the same Nats-Msg-Id within this window is stored once."""


class ConsumerSpec(Model):
    """A durable pull consumer: explicit ack, bounded deliveries, then the dead-letter stream."""

    durable: str = Field(max_length=32)
    stream: str
    filter_subjects: list[str]
    service: str
    description: str
    ack_wait_s: float = 10.0
    """How long a message a crashed process held waits before the server delivers it again, so the work a killed
    process held resumes within about this time. A handler that works longer is not redelivered: the runtime tells
    the server the work goes on every quarter of this time."""
    work_limit_s: float = 300.0
    """Longest one attempt may work. Past it the attempt is cancelled and counts as failed (retry with back-off)."""
    max_deliver: int = 5
    """Attempts by the handler. The server is configured with one more, so that a final attempt lost to a crash or an
    ack timeout still reaches a handler, which dead-letters it instead of letting it vanish."""
    backoff_s: list[float] = Field(default_factory=lambda: [1.0, 5.0, 15.0, 30.0])
    """Delay before redelivery after a failed attempt, by attempt number (the last repeats)."""


class KvSpec(Model):
    bucket: str
    owner: str
    description: str
    history: int = 1
    ttl_s: float = 0.0
    max_bytes: int = 64 * MiB


DEAD_LETTER = StreamSpec(
    name="DEADLETTER",
    subjects=["deadletter.>"],
    owner="infra",
    description="Poison messages and exhausted deliveries, with their reason; listed and re-driven by "
    "`brainstream dlq`.",
    max_age_s=30 * DAY,
    max_bytes=128 * MiB,
)

DELIVERY = StreamSpec(
    name="DELIVERY",
    subjects=["delivery.>"],
    owner="infra",
    description="Failed attempts, dead-lettered and re-driven messages, as facts of the journeys they belong to.",
    max_age_s=30 * DAY,
    max_bytes=128 * MiB,
)

STREAMS: list[StreamSpec] = [
    StreamSpec(
        name="INGEST",
        subjects=["ingest.>"],
        owner="ingest-svc",
        description="Listens, recommendation candidates, runs and retrains.",
        max_bytes=512 * MiB,
    ),
    StreamSpec(
        name="RESOLVE",
        subjects=["resolve.>"],
        owner="resolve-svc",
        description="Tracks normalized against MusicBrainz, or why not.",
    ),
    StreamSpec(
        name="ACQUIRE",
        subjects=["acquire.>"],
        owner="acquire-svc",
        description="Downloads, validation, rejections and tagged staging files.",
    ),
    StreamSpec(
        name="LIBRARY",
        subjects=["library.>"],
        owner="library-svc",
        description="Imports into the library and media-server scans.",
    ),
    StreamSpec(
        name="GATEWAY",
        subjects=["gateway.>"],
        owner="gateway",
        description="Manual requests, retries, runs, scrobbles and settings from people and their clients.",
    ),
    DEAD_LETTER,
    DELIVERY,
]

CONSUMERS: list[ConsumerSpec] = [
    ConsumerSpec(
        durable="ingest_scrobbles",
        stream="GATEWAY",
        filter_subjects=["gateway.scrobble.submitted"],
        service="ingest-svc",
        description="Subsonic scrobbles become listens.",
    ),
    ConsumerSpec(
        durable="ingest_library_scrobbles",
        stream="LIBRARY",
        filter_subjects=["library.scrobble.recorded"],
        service="ingest-svc",
        description="Plays recorded by the built-in Subsonic API become listens.",
    ),
    ConsumerSpec(
        durable="ingest_runs",
        stream="GATEWAY",
        filter_subjects=["gateway.run.requested"],
        service="ingest-svc",
        description="On-demand recommendation runs.",
        work_limit_s=600.0,
    ),
    ConsumerSpec(
        durable="ingest_forward",
        stream="INGEST",
        filter_subjects=["ingest.listen.recorded"],
        service="ingest-svc",
        description="Plays from Subsonic clients and speakers sent on to the user's ListenBrainz and Last.fm.",
        # an upstream that is down delays a play, never loses it: about a day of tries before the dead letters
        max_deliver=60,
        backoff_s=[5.0, 30.0, 60.0, 300.0, 900.0, 1800.0],
    ),
    ConsumerSpec(
        durable="ingest_now_playing",
        stream="GATEWAY",
        filter_subjects=["gateway.nowplaying.reported"],
        service="ingest-svc",
        description="What Subsonic clients play now, told to the user's ListenBrainz and Last.fm (not a listen).",
        max_deliver=2,  # stale within minutes: one more try, then it is better forgotten
    ),
    ConsumerSpec(
        durable="resolve_listens",
        stream="INGEST",
        filter_subjects=["ingest.listen.recorded"],
        service="resolve-svc",
        description="Recorded plays to match to a MusicBrainz recording.",
        max_deliver=8,
    ),
    ConsumerSpec(
        durable="resolve_listen_retries",
        stream="GATEWAY",
        filter_subjects=["gateway.listen.match_requested"],
        service="resolve-svc",
        description="Plays still unmatched, asked again by the history store with back-off.",
        max_deliver=8,
    ),
    ConsumerSpec(
        durable="gateway_history_ingest",
        stream="INGEST",
        filter_subjects=["ingest.listen.recorded"],
        service="gateway",
        description="The listening-history store, from recorded plays.",
        backoff_s=[0.5, 2.0, 5.0],
    ),
    ConsumerSpec(
        durable="gateway_history_resolve",
        stream="RESOLVE",
        filter_subjects=["resolve.listen.matched", "resolve.listen.unmatched"],
        service="gateway",
        description="The listening-history store, from the plays' MusicBrainz matches.",
        backoff_s=[0.5, 2.0, 5.0],
    ),
    ConsumerSpec(
        durable="gateway_history_library",
        stream="LIBRARY",
        filter_subjects=["library.track.imported"],
        service="gateway",
        description="The listening-history store, from the library's genres per recording (insights' top genres).",
        backoff_s=[0.5, 2.0, 5.0],
    ),
    ConsumerSpec(
        durable="resolve_candidates",
        stream="INGEST",
        filter_subjects=["ingest.candidate.discovered"],
        service="resolve-svc",
        description="Recommended recordings to normalize.",
        max_deliver=8,
    ),
    ConsumerSpec(
        durable="resolve_requests",
        stream="GATEWAY",
        filter_subjects=["gateway.track.requested", "gateway.track.retry_requested"],
        service="resolve-svc",
        description="Manual requests and rematches to normalize.",
        max_deliver=8,
    ),
    ConsumerSpec(
        durable="resolve_url_inspected",
        stream="ACQUIRE",
        filter_subjects=["acquire.url.inspected"],
        service="resolve-svc",
        description="Requests given only a URL, with what the file or page says it is, to normalize.",
        max_deliver=8,
    ),
    ConsumerSpec(
        durable="acquire_url_requests",
        stream="GATEWAY",
        filter_subjects=["gateway.track.requested"],
        service="acquire-svc",
        description="Requests that give only a URL: download it (or read its page) for what track it is.",
        work_limit_s=600.0,
    ),
    ConsumerSpec(
        durable="acquire_resolved",
        stream="RESOLVE",
        filter_subjects=["resolve.track.resolved"],
        service="acquire-svc",
        description="Resolved tracks to download, validate and tag.",
        work_limit_s=1800.0,
    ),
    ConsumerSpec(
        durable="library_tagged",
        stream="ACQUIRE",
        filter_subjects=["acquire.track.tagged"],
        service="library-svc",
        description="Tagged staging files to move into the library.",
    ),
    ConsumerSpec(
        durable="library_discovery_plays",
        stream="INGEST",
        filter_subjects=[
            "ingest.listen.recorded",
            "ingest.feedback.received",
            "ingest.candidate.recommended_again",
        ],
        service="library-svc",
        description="The discovery lifecycle: plays that keep a discovery, ListenBrainz feedback read back, and "
        "owned tracks recommended again.",
    ),
    ConsumerSpec(
        durable="library_discovery_matches",
        stream="RESOLVE",
        filter_subjects=["resolve.listen.matched"],
        service="library-svc",
        description="The discovery lifecycle: which recording each play was.",
    ),
    ConsumerSpec(
        durable="library_discovery_commands",
        stream="GATEWAY",
        filter_subjects=[
            "gateway.discovery.keep_requested",
            "gateway.discovery.hate_requested",
            "gateway.discovery.restore_requested",
        ],
        service="library-svc",
        description="Keep, hate and restore from the Discoveries page.",
    ),
    ConsumerSpec(
        durable="ingest_feedback",
        stream="LIBRARY",
        filter_subjects=["library.discovery.kept", "library.discovery.hated", "library.discovery.restored"],
        service="ingest-svc",
        description="Discovery decisions sent to the user's ListenBrainz as recording feedback (+1 / -1).",
        max_deliver=60,
        backoff_s=[5.0, 30.0, 60.0, 300.0, 900.0, 1800.0],
    ),
    ConsumerSpec(
        durable="library_commands",
        stream="GATEWAY",
        filter_subjects=["gateway.track.removal_requested", "gateway.scan.requested"],
        service="library-svc",
        description="Removals and scans asked for by people.",
        work_limit_s=3600.0,
    ),
]


def _gateway_views() -> list[ConsumerSpec]:
    """One consumer per stream for the gateway's read model (tracks, timelines, live feed)."""
    from .catalog import MESSAGE_TYPES  # the catalog imports nothing of this module; the import is for order only

    return [
        ConsumerSpec(
            durable=f"gateway_view_{stream.lower()}",
            stream=stream,
            filter_subjects=[cls.subject for cls in MESSAGE_TYPES if cls.stream == stream],
            service="gateway",
            description=f"The gateway's read model and live feed, from {stream}.",
            backoff_s=[0.5, 2.0, 5.0],
        )
        for stream in ("INGEST", "RESOLVE", "ACQUIRE", "LIBRARY", "GATEWAY", "DELIVERY")
    ]


CONSUMERS.extend(_gateway_views())


def stream_named(name: str) -> StreamSpec:
    for spec in STREAMS:
        if spec.name == name:
            return spec
    raise KeyError(name)


def consumers_of(service: str) -> list[ConsumerSpec]:
    return [c for c in CONSUMERS if c.service == service]


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, `>` one or more trailing tokens."""
    pat, sub = pattern.split("."), subject.split(".")
    for i, token in enumerate(pat):
        if token == ">":
            return len(sub) > i
        if i >= len(sub) or (token != "*" and token != sub[i]):
            return False
    return len(pat) == len(sub)
