"""A valid instance of any contract, built from its field types, so suites can cover every subject of the catalog
and stay valid when contracts gain optional fields."""

from __future__ import annotations

import types
import uuid
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from contracts.base import Message

__all__ = ["required_fields", "sample", "sample_value"]

M = TypeVar("M", bound=Message)


def sample_value(annotation: Any) -> Any:
    """A plausible value for a field annotation (JSON-ready types are fine: pydantic validates them)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return get_args(annotation)[0]
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return sample_value(options[0])
    if origin in (list, set, frozenset, tuple):
        return []
    if origin is dict:
        return {}
    if getattr(annotation, "__metadata__", None):  # Annotated[...]
        return sample_value(get_args(annotation)[0])
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, BaseModel):
            return _fields(annotation, {})
        if issubclass(annotation, bool):
            return True
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.0
        if issubclass(annotation, str):
            return "sample"
        if issubclass(annotation, uuid.UUID):
            return str(uuid.uuid4())
        if issubclass(annotation, datetime):
            return datetime.now(UTC).isoformat()
    raise TypeError(f"no sample for {annotation!r}; extend tests/support/samples.py")


def required_fields(cls: type[BaseModel]) -> list[str]:
    return [name for name, f in cls.model_fields.items() if f.is_required()]


def _fields(cls: type[BaseModel], overrides: dict[str, Any]) -> dict[str, Any]:
    out = {name: sample_value(cls.model_fields[name].annotation) for name in required_fields(cls)}
    out.update(overrides)
    return out


def sample(cls: type[M], **overrides: Any) -> M:
    """A valid `cls` with every required field filled in; `overrides` set fields (nested models as dicts)."""
    return cls.model_validate(_fields(cls, overrides))
