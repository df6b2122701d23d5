"""Subjects that hold messages no declared consumer reads.

A message on a subject no consumer filters on is never delivered, so it can neither be handled nor dead-lettered:
a producer that moved to a `.v2` subject before its consumers did, or a typo. Nothing fails; the messages just sit
in the stream. `brainstream status` lists these subjects so they do not stay silent.
"""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.topology import CONSUMERS, DEAD_LETTER, STREAMS, subject_matches

__all__ = ["unconsumed_subjects"]


async def unconsumed_subjects(js: JetStreamContext) -> dict[str, int]:
    """Message count per stored subject that no consumer of its stream filters on."""
    out: dict[str, int] = {}
    for spec in STREAMS:
        if spec.name == DEAD_LETTER.name:
            continue  # read by people, through `brainstream dlq`
        try:
            info = await js.stream_info(spec.name, subjects_filter=">")
        except NotFoundError:
            continue
        filters = [f for c in CONSUMERS if c.stream == spec.name for f in c.filter_subjects]
        for subject, count in sorted((info.state.subjects or {}).items()):
            if not any(subject_matches(f, subject) for f in filters):
                out[subject] = count
    return out
