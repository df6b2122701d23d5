"""A user's marks on the items of one response: stars, ratings and play counts, as the catalog holds them."""

from __future__ import annotations

from datetime import datetime

__all__ = ["UserState"]


class UserState:
    """Stars, ratings and play counts of one user for the items of one response."""

    def __init__(self) -> None:
        self.starred: dict[str, datetime] = {}
        self.rating: dict[str, int] = {}
        self.plays: dict[str, tuple[int, datetime]] = {}

    @property
    def empty(self) -> bool:
        return not (self.starred or self.rating or self.plays)
