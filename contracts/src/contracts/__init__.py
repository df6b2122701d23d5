"""BrainStream contracts: the wire schemas, subjects, streams, consumers and KV buckets. Pydantic only, no I/O."""

from .base import Command, Event, Message, Model, utcnow
from .buckets import KV_BUCKETS
from .catalog import CATALOG, MESSAGE_TYPES, message_type
from .topology import CONSUMERS, DEAD_LETTER, STREAMS, ConsumerSpec, KvSpec, StreamSpec

__all__ = [
    "CATALOG",
    "CONSUMERS",
    "DEAD_LETTER",
    "KV_BUCKETS",
    "MESSAGE_TYPES",
    "STREAMS",
    "Command",
    "ConsumerSpec",
    "Event",
    "KvSpec",
    "Message",
    "Model",
    "StreamSpec",
    "message_type",
    "utcnow",
]
