"""Library paths: the template rules and rendering are `contracts.pathtemplate` (the gateway checks a template on
save with the same code); what is library-svc's own is giving a second recording that lands on a taken path a
distinct name."""

from __future__ import annotations

from contracts.pathtemplate import (
    MAX_COMPONENT_BYTES,
    PathValues,
    render_path,
    safe_component,
    template_problem,
    truncate_utf8,
)

__all__ = ["MAX_COMPONENT_BYTES", "PathValues", "disambiguate", "render_path", "safe_component", "template_problem"]


def disambiguate(path: str, key: str) -> str:
    """A distinct name for another recording that would land on `path`: ` [key]` before the extension."""
    head, _, name = path.rpartition("/")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    tag = f" [{key}]"
    stem = truncate_utf8(stem, MAX_COMPONENT_BYTES - len(tag.encode()) - len(ext.encode()) - 1)
    new = f"{stem}{tag}" + (f".{ext}" if ext else "")
    return f"{head}/{new}" if head else new
