"""Use cases of ingest-svc; the one place that maps contracts to domain types and back."""

from .failures import poll_failed
from .listens import ListenService
from .recommendations import RecommendationService, RunReport

__all__ = ["ListenService", "RecommendationService", "RunReport", "poll_failed"]
