"""The event catalog: every subject unique, inside its owner's stream, and safe on the wire."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts import CATALOG, CONSUMERS, KV_BUCKETS, MESSAGE_TYPES, STREAMS, Command, Event, Message
from contracts.asyncapi import build_asyncapi
from contracts.common import AlbumSource, CandidateSource, MatchExplanation, MatchMethod, TrackMetadata, TrackQuery
from contracts.gateway import RequestTrack
from contracts.ingest import CandidateDiscovered
from contracts.resolve import TrackResolved
from contracts.topology import subject_matches


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
        assert cls.__name__.endswith(("ed", "Failed")), cls.__name__
    else:
        assert not cls.__name__.endswith("ed"), cls.__name__


def _example(cls: type[Message]) -> Message:
    """A valid instance of any contract, built from its JSON schema's required fields."""
    values: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        if not field.is_required():
            continue
        values[name] = _value_for(field.annotation, name)
    return cls(**values)


def _value_for(annotation: Any, name: str) -> Any:
    import enum
    import typing

    origin = typing.get_origin(annotation)
    if origin in (typing.Union, __import__("types").UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _value_for(args[0], name)
    if origin is list:
        return []
    if origin is dict:
        return {}
    if annotation is uuid.UUID:
        return uuid.uuid4()
    if annotation is datetime:
        return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    if annotation is str:
        return f"some {name}"
    if annotation is int:
        return 3
    if annotation is float:
        return 0.5
    if annotation is bool:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation))
    if annotation is TrackMetadata:
        return TrackMetadata(
            recording_mbid=uuid.uuid4(), title="Song", artist="A", album_artist="A", album="X",
            album_source=AlbumSource.ITUNES,
        )  # fmt: skip
    if annotation is MatchExplanation:
        return MatchExplanation(method=MatchMethod.MBID, distance=0.0)
    if annotation is TrackQuery:
        return TrackQuery(artist="A", title="B")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation(
            **{n: _value_for(f.annotation, n) for n, f in annotation.model_fields.items() if f.is_required()}
        )
    raise AssertionError(f"no example for {annotation!r} ({name})")


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_json_round_trip(cls: type[Message]) -> None:
    original = _example(cls)
    again = cls.from_json(original.to_json())
    assert again == original


@pytest.mark.parametrize("cls", MESSAGE_TYPES, ids=lambda c: c.__name__)
def test_unknown_fields_are_ignored(cls: type[Message]) -> None:
    # an older reader must survive a newer writer that added fields
    payload = json.loads(_example(cls).to_json())
    payload["field_from_the_future"] = {"nested": [1, 2]}
    again = cls.model_validate(payload)
    assert not hasattr(again, "field_from_the_future")


def test_messages_are_frozen() -> None:
    event = _example(CandidateDiscovered)
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
        track=_value_for(TrackMetadata, "track"),
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
