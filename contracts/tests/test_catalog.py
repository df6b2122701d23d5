"""The event catalog: every subject unique, inside its owner's stream, and safe on the wire."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from contracts import CATALOG, CONSUMERS, KV_BUCKETS, MESSAGE_TYPES, STREAMS, Command, Event, Message
from contracts.asyncapi import build_asyncapi
from contracts.common import CandidateSource, MatchExplanation, MatchMethod, TrackMetadata, TrackQuery
from contracts.gateway import RequestTrack
from contracts.ingest import CandidateDiscovered
from contracts.resolve import TrackResolved
from contracts.topology import subject_matches
from tests.support.samples import sample, sample_value


def test_subjects_are_unique() -> None:
    subjects = [cls.subject for cls in MESSAGE_TYPES]
    assert len(subjects) == len(set(subjects))
    assert len(CATALOG) == len(MESSAGE_TYPES)


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_subject_lives_in_its_owners_stream(cls: type[Message]) -> None:
    (stream,) = [s for s in STREAMS if s.name == cls.stream]
    assert any(subject_matches(p, cls.subject) for p in stream.subjects)
    others = [
        s.name for s in STREAMS if s.name != stream.name and any(subject_matches(p, cls.subject) for p in s.subjects)
    ]
    assert others == [], f"{cls.subject} is also captured by {others}"
    context, entity, verb = cls.subject.split(".")[:3]
    assert context == stream.name.lower()
    assert entity and verb


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_naming_follows_kind(cls: type[Message]) -> None:
    # events are past tense facts, commands imperative requests
    assert issubclass(cls, (Event, Command))
    if issubclass(cls, Event):
        # "Redriven", "Kept", "Sent": irregular participles
        assert cls.__name__.endswith(("ed", "en", "Failed", "Kept", "Sent")), cls.__name__
    else:
        assert not cls.__name__.endswith("ed"), cls.__name__


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_json_round_trip(cls: type[Message]) -> None:
    original = sample(cls)
    again = cls.from_json(original.to_json())
    assert again == original


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_unknown_fields_are_ignored(cls: type[Message]) -> None:
    # an older reader must survive a newer writer that added fields
    payload = json.loads(sample(cls).to_json())
    payload["field_from_the_future"] = {"nested": [1, 2]}
    again = cls.model_validate(payload)
    assert not hasattr(again, "field_from_the_future")


def test_messages_are_frozen() -> None:
    event = sample(CandidateDiscovered)
    with pytest.raises(ValidationError):
        event.title = "changed"  # type: ignore[misc]


def test_occurred_at_is_normalised_to_utc_and_must_carry_a_zone() -> None:
    cet = timezone(timedelta(hours=1))
    event = RequestTrack(
        request_id=uuid.uuid4(), query=TrackQuery(title="x"), occurred_at=datetime(2026, 1, 1, 12, tzinfo=cet)
    )
    assert event.occurred_at == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError, match="timezone"):
        RequestTrack(request_id=uuid.uuid4(), query=TrackQuery(title="x"), occurred_at=datetime(2026, 1, 1, 12))


def test_caused_by_carries_the_journey() -> None:
    candidate = CandidateDiscovered(
        user="alice", recording_mbid=uuid.uuid4(), source=CandidateSource.CF, run_id=uuid.uuid4(), position=0
    )
    resolved = TrackResolved.caused_by(
        candidate,
        track=sample_value(TrackMetadata),
        origin=CandidateSource.CF,
        explanation=MatchExplanation(method=MatchMethod.MBID, distance=0.0),
    )
    assert resolved.correlation_id == candidate.correlation_id
    assert resolved.causation_id == candidate.event_id
    assert resolved.user == "alice"
    assert resolved.event_id != candidate.event_id


def test_every_consumer_reads_declared_subjects_of_its_stream() -> None:
    names = {s.name for s in STREAMS}
    for consumer in CONSUMERS:
        assert consumer.stream in names
        assert len(consumer.durable) < 32
        for subject in consumer.filter_subjects:
            assert subject in CATALOG, f"{consumer.durable} filters on undeclared {subject}"
            assert CATALOG[subject].stream == consumer.stream
    assert len({c.durable for c in CONSUMERS}) == len(CONSUMERS)


def test_kv_bucket_names_are_valid_and_unique() -> None:
    import re

    buckets = [kv.bucket for kv in KV_BUCKETS]
    assert len(buckets) == len(set(buckets))
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", b) for b in buckets)


def test_asyncapi_describes_every_message() -> None:
    doc = build_asyncapi("1.2.3")
    assert doc["asyncapi"].startswith("3.")
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == set(CATALOG)
    for cls in MESSAGE_TYPES:
        schema = doc["components"]["schemas"][cls.__name__]
        assert "event_id" in schema["properties"]
    json.dumps(doc)  # serialisable as written by `make docs`
