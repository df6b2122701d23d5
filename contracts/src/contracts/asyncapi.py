"""An AsyncAPI 3.0 description of every message, built from the contracts (pure; the caller writes it)."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from .base import Command, Message
from .catalog import MESSAGE_TYPES
from .topology import CONSUMERS, STREAMS

__all__ = ["build_asyncapi"]


def build_asyncapi(version: str) -> dict[str, Any]:
    _, top = models_json_schema(
        [(cls, "serialization") for cls in MESSAGE_TYPES], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for cls in MESSAGE_TYPES:
        name = cls.__name__
        channel = cls.subject.replace(".", "_")
        messages[name] = {
            "name": name,
            "title": name,
            "summary": _doc(cls),
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {"Nats-Msg-Id": {"type": "string", "description": "Equal to event_id."}},
            },
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "x-kind": "command" if issubclass(cls, Command) else "event",
            "x-version": cls.version,
        }
        channels[channel] = {
            "address": cls.subject,
            "description": f"Stream {cls.stream}. {_doc(cls)}".strip(),
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"Published by {_owner(cls)}.",
        }
        for consumer in CONSUMERS:
            if cls.subject in consumer.filter_subjects:
                operations[f"{consumer.durable}{name}"] = {
                    "action": "receive",
                    "channel": {"$ref": f"#/channels/{channel}"},
                    "summary": f"{consumer.service} (durable `{consumer.durable}`): {consumer.description}",
                }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "BrainStream events",
            "version": version,
            "description": "Every event and command of the BrainStream loop on NATS JetStream. Streams: "
            + "; ".join(f"{s.name} ({', '.join(s.subjects)}) owned by {s.owner}" for s in STREAMS),
        },
        "defaultContentType": "application/json",
        "servers": {"nats": {"host": "127.0.0.1:4222", "protocol": "nats", "description": "Set NATS_URL."}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _doc(cls: type[Message]) -> str:
    doc = cls.__doc__ or ""
    return " ".join(doc.split())


def _owner(cls: type[Message]) -> str:
    return next(s.owner for s in STREAMS if s.name == cls.stream)
