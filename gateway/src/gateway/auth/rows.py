"""SQL rows of people, their sessions, their API tokens and their insight time zones: the accounts database."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

__all__ = ["TABLES", "InsightPrefRow", "InsightSummaryRow", "SessionRow", "TokenRow", "UserRow"]


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    username: str = Field(primary_key=True)
    password_hash: str
    is_admin: bool = False
    enabled: bool = True
    app_password_enc: str
    """The Subsonic app-password, Fernet-encrypted."""
    accounts_enc: str = ""
    """The ListenBrainz / Last.fm / Spotify accounts (UserAccounts JSON), Fernet-encrypted."""
    created_at: datetime


class SessionRow(SQLModel, table=True):
    __tablename__ = "sessions"

    id_hash: str = Field(primary_key=True)
    """sha256 of the cookie value: a stolen database holds no usable session."""
    username: str = Field(index=True, foreign_key="users.username", ondelete="CASCADE")
    csrf: str
    expires_at: datetime


class TokenRow(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: str = Field(primary_key=True)
    token_hash: str = Field(index=True, unique=True)
    username: str = Field(index=True, foreign_key="users.username", ondelete="CASCADE")
    name: str
    created_at: datetime


class InsightPrefRow(SQLModel, table=True):
    """A person's own time zone for insights (none: the server's)."""

    __tablename__ = "insight_zones"

    username: str = Field(primary_key=True)
    timezone: str


class InsightSummaryRow(SQLModel, table=True):
    """The written summary of a person's insights for one range: one LLM answer, whichever replica asked."""

    __tablename__ = "insight_summaries"

    username: str = Field(primary_key=True)
    range_key: str = Field(primary_key=True)
    facts: str
    """The facts (JSON) the prose was written from."""
    state: str
    """pending, done or failed."""
    prose: str | None = None
    reason: str | None = None
    model: str | None = None
    at: float
    """When it was stored (unix seconds)."""


TABLES = ("users", "sessions", "api_tokens", "insight_zones", "insight_summaries")
"""The accounts database's tables, which every gateway replica shares."""
