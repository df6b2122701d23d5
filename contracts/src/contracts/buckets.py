"""KV buckets, declared once here and provisioned from this by infra; their spec and units live in `topology`."""

from __future__ import annotations

from .topology import DAY, KvSpec, MiB

__all__ = ["KV_BUCKETS"]

KV_BUCKETS: list[KvSpec] = [
    KvSpec(
        bucket="pipeline_gate",
        owner="acquire-svc",
        description="The atomic gate: one entry per wanted track, keyed by recording MBID (or a normalized "
        "artist+title key before resolution). The loser of a create race gets the existing entry back.",
        history=5,
    ),
    KvSpec(
        bucket="request_gate",
        owner="gateway",
        description="Manual requests keyed by their normalized query; a duplicate request answers 409 with it.",
    ),
    KvSpec(
        bucket="listen_gate",
        owner="ingest-svc",
        description="One key per recorded play (user, source, play id), so a play seen twice is one listen.",
        ttl_s=90 * DAY,
        max_bytes=128 * MiB,
    ),
    KvSpec(
        bucket="forward_ledger",
        owner="ingest-svc",
        description="Per user, target and play: where sending it on stands (sending, sent, refused), so a crash "
        "or a retry never submits a play twice.",
        ttl_s=90 * DAY,
        max_bytes=128 * MiB,
    ),
    KvSpec(
        bucket="ingest_cursors",
        owner="ingest-svc",
        description="Per user and source: listen cursors, the CF offset and the CF model marker.",
        history=5,
    ),
    KvSpec(
        bucket="settings",
        owner="gateway",
        description="Live settings; services watch it and apply changes without a restart.",
        history=10,
    ),
    KvSpec(
        bucket="resolve_cache",
        owner="resolve-svc",
        description="External metadata responses per source, with a TTL, so a track seen again costs no request.",
        ttl_s=30 * DAY,
        max_bytes=256 * MiB,
    ),
    KvSpec(
        bucket="resolve_albums",
        owner="resolve-svc",
        description="The album each release group got (name, year, cover): every later track of it joins that album.",
    ),
    KvSpec(
        bucket="rate_limits",
        owner="infra",
        description="Shared rate-limit slots per external host, held across every service and replica.",
        ttl_s=3600.0,
    ),
    KvSpec(
        bucket="library_owned",
        owner="library-svc",
        description="Recording MBIDs the library holds (value: track id and path), kept by library-svc from its "
        "catalog, so ingest and acquire can skip what is already owned without reading another service's tables.",
        max_bytes=128 * MiB,
    ),
    KvSpec(
        bucket="discovery_gate",
        owner="library-svc",
        description="Per user, the recordings never to offer again (tombstones of expired and hated discoveries), "
        "and `paused` while the disk budget stops runs; ingest-svc reads it before each run.",
        max_bytes=64 * MiB,
    ),
    KvSpec(
        bucket="feedback_ledger",
        owner="ingest-svc",
        description="Per user, recording and score: where sending ListenBrainz feedback stands (sending, sent), so "
        "a crash or a retry never sends it twice.",
        ttl_s=90 * DAY,
    ),
    KvSpec(
        bucket="leases",
        owner="infra",
        description="Single-writer leases (holder and expiry per key): the writer of library-svc holds one, and its "
        "hot standby takes over when it is not renewed.",
    ),
    KvSpec(
        bucket="acquire_negative",
        owner="acquire-svc",
        description="Candidates (backend + id) that failed validation, so they are never downloaded again.",
        ttl_s=180 * DAY,
    ),
]
