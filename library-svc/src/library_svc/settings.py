"""Settings of library-svc (environment prefix BRAINSTREAM_)."""

from __future__ import annotations

from infra.runtime import RuntimeSettings

__all__ = ["Settings"]


class Settings(RuntimeSettings):
    """Shared runtime settings; library-svc's own settings are added here."""
