"""Settings of the gateway (environment prefix BRAINSTREAM_)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from infra.runtime import RuntimeSettings

__all__ = ["Settings"]


class Settings(RuntimeSettings):
    http_host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("BRAINSTREAM_HTTP_HOST"))
    """Address the web UI, REST API and /rest listen on; 0.0.0.0 to serve other machines."""
    http_port: int = Field(default=8080, ge=0, le=65535, validation_alias=AliasChoices("BRAINSTREAM_HTTP_PORT"))
    """Port of the web UI, REST API and /rest."""
    health_timeout_s: float = Field(default=1.0, gt=0, validation_alias=AliasChoices("BRAINSTREAM_HEALTH_TIMEOUT"))
    """How long /api/health waits for each service's answer."""
