"""The keep and expiry rules in force for one user, from the live settings and the environment.

A field is taken from the first place that sets it: the user's `UserAccounts.discovery`, then the pipeline's
`PipelineSettings.discovery`, then the environment (BRAINSTREAM_DISCOVERY_*), then the defaults below. Values are
checked when they are saved (`DiscoveryRules` and the service's settings refuse a duration like `3 weeks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from contracts.discovery import DiscoveryRules, parse_duration, parse_size

__all__ = ["DEFAULTS", "Rules", "resolve"]


@dataclass(frozen=True)
class Rules:
    enabled: bool = True
    keep_plays: int = 1
    keep_rating: int = 3
    keep_for: timedelta = timedelta(days=21)
    trash_for: timedelta = timedelta(days=7)
    disk_budget: int | None = None


DEFAULTS = Rules()


def resolve(*layers: DiscoveryRules | None) -> Rules:
    """The first layer (most specific first) that sets a field wins; the environment comes in as the last layer."""

    def pick(name: str) -> object:
        for layer in layers:
            value = getattr(layer, name, None) if layer is not None else None
            if value is not None:
                return value
        return None

    enabled = pick("enabled")
    plays = pick("keep_plays")
    rating = pick("keep_rating")
    keep_for = pick("keep_for")
    trash_for = pick("trash_for")
    budget = pick("disk_budget")
    return Rules(
        enabled=DEFAULTS.enabled if enabled is None else bool(enabled),
        keep_plays=DEFAULTS.keep_plays if plays is None else int(str(plays)),
        keep_rating=DEFAULTS.keep_rating if rating is None else int(str(rating)),
        keep_for=DEFAULTS.keep_for if keep_for is None else parse_duration(str(keep_for)),
        trash_for=DEFAULTS.trash_for if trash_for is None else parse_duration(str(trash_for)),
        disk_budget=parse_size(str(budget)) if budget else None,
    )
