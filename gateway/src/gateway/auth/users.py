"""People of this BrainStream: accounts, passwords, Subsonic app-passwords, web sessions and API tokens."""

from __future__ import annotations

import functools
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from contracts.livesettings import UserAccounts, user_key

from .crypto import Passwords, SecretBox, digest, new_app_password, new_token
from .rows import SessionRow, TokenRow, UserRow

__all__ = ["Principal", "UserError", "Users"]


@dataclass(frozen=True)
class Principal:
    """Who is asking, and how they proved it."""

    username: str
    is_admin: bool
    via: str
    """'session', 'token' or 'subsonic'."""
    csrf: str | None = None


class UserError(ValueError):
    """A user operation that cannot be done as asked (the message says why)."""


def _now() -> datetime:
    return datetime.now(UTC)


class Users:
    def __init__(
        self, engine: Engine, box: SecretBox, session_days: float = 30.0, *, cache_s: float | None = None
    ) -> None:
        self.box = box
        """Seals the secrets the gateway must read back; also used for the Navidrome password in live settings."""
        self._engine = engine
        self._box = box
        self._passwords = Passwords()
        self._session_ttl = timedelta(days=session_days)
        self._app_passwords: dict[str, str] | None = None
        self._cache_s = cache_s
        """None: the app-passwords are read once and after each change made here. Replicas change them behind each
        other's back, so each reads them again when the copy is this old (decrypting only the ones that changed)."""
        self._read_at = 0.0
        self._opened: dict[str, str] = {}
        """Sealed app-password -> plain, so a re-read decrypts only what changed."""

    # people ---------------------------------------------------------------------------------------------------

    def count(self) -> int:
        with Session(self._engine) as s:
            return len(s.exec(select(UserRow.username)).all())

    def all(self) -> list[UserRow]:
        with Session(self._engine) as s:
            return list(s.exec(select(UserRow).order_by(col(UserRow.username))).all())

    def get(self, username: str) -> UserRow | None:
        with Session(self._engine) as s:
            return s.get(UserRow, username)

    def create(self, username: str, password: str, *, is_admin: bool = False) -> UserRow:
        user_key(username)  # validates the name
        if len(password) < 8:
            raise UserError("a password needs at least 8 characters")
        with Session(self._engine) as s:
            if s.get(UserRow, username) is not None:
                raise UserError(f"user {username} exists")
            row = UserRow(
                username=username,
                password_hash=self._passwords.hash(password),
                is_admin=is_admin,
                app_password_enc=self._box.seal(new_app_password()),
                accounts_enc=self._box.seal(UserAccounts(username=username).model_dump_json()),
                created_at=_now(),
            )
            s.add(row)
            s.commit()
            s.refresh(row)
        self.forget_cached()
        return row

    def update(
        self,
        username: str,
        *,
        password: str | None = None,
        is_admin: bool | None = None,
        enabled: bool | None = None,
    ) -> UserRow:
        with Session(self._engine) as s:
            row = s.get(UserRow, username)
            if row is None:
                raise KeyError(username)
            if password is not None:
                if len(password) < 8:
                    raise UserError("a password needs at least 8 characters")
                row.password_hash = self._passwords.hash(password)
                # a new password is how a person locks out whoever had the old one: every credential derived from
                # it goes too (sessions, API tokens, the Subsonic app-password, which gets a fresh value)
                s.exec(delete(SessionRow).where(col(SessionRow.username) == username))
                s.exec(delete(TokenRow).where(col(TokenRow.username) == username))
                row.app_password_enc = self._box.seal(new_app_password())
            if is_admin is not None:
                row.is_admin = is_admin
            if enabled is not None:
                row.enabled = enabled
            s.add(row)
            s.commit()
            s.refresh(row)
        self.forget_cached()
        return row

    def delete(self, username: str) -> None:
        with Session(self._engine) as s:
            row = s.get(UserRow, username)
            if row is None:
                raise KeyError(username)
            s.exec(delete(SessionRow).where(col(SessionRow.username) == username))
            s.exec(delete(TokenRow).where(col(TokenRow.username) == username))
            s.delete(row)
            s.commit()
        self.forget_cached()

    def check_password(self, username: str, password: str) -> UserRow | None:
        row = self.get(username)
        if row is None:
            self._passwords.verify(_dummy_hash(), password)  # same cost whether or not the user exists
            return None
        if not row.enabled or not self._passwords.verify(row.password_hash, password):
            return None
        return row

    # accounts at the listening services -------------------------------------------------------------------------

    def accounts(self, username: str) -> UserAccounts:
        row = self.get(username)
        if row is None:
            raise KeyError(username)
        if not row.accounts_enc:
            return UserAccounts(username=username, enabled=row.enabled)
        return UserAccounts.model_validate_json(self._box.open(row.accounts_enc))

    def set_accounts(self, accounts: UserAccounts) -> None:
        with Session(self._engine) as s:
            row = s.get(UserRow, accounts.username)
            if row is None:
                raise KeyError(accounts.username)
            row.accounts_enc = self._box.seal(accounts.model_dump_json())
            s.add(row)
            s.commit()

    # Subsonic app-password --------------------------------------------------------------------------------------

    def _secrets(self) -> dict[str, str]:
        """Every enabled user's app-password, decrypted once: /rest checks one on every request."""
        stale = self._cache_s is not None and time.monotonic() - self._read_at > self._cache_s
        if self._app_passwords is None or stale:
            with Session(self._engine) as s:
                rows = s.exec(select(UserRow).where(col(UserRow.enabled))).all()
            opened = {r.app_password_enc: self._opened.get(r.app_password_enc) for r in rows}
            self._opened = {k: v if v is not None else self._box.open(k) for k, v in opened.items()}
            self._app_passwords = {r.username: self._opened[r.app_password_enc] for r in rows}
            self._read_at = time.monotonic()
        return self._app_passwords

    def app_password(self, username: str) -> str | None:
        return self._secrets().get(username)

    def user_by_app_password(self, key: str) -> str | None:
        for username, secret in self._secrets().items():
            if hmac.compare_digest(secret.encode(), key.encode()):
                return username
        return None

    def rotate_app_password(self, username: str) -> str:
        plain = new_app_password()
        with Session(self._engine) as s:
            row = s.get(UserRow, username)
            if row is None:
                raise KeyError(username)
            row.app_password_enc = self._box.seal(plain)
            s.add(row)
            s.commit()
        self.forget_cached()
        return plain

    def forget_cached(self, username: str | None = None) -> None:
        self._app_passwords = None

    # web sessions ---------------------------------------------------------------------------------------------

    def open_session(self, username: str) -> tuple[str, str]:
        """A new session: (cookie value, CSRF token)."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        with Session(self._engine) as s:
            s.add(
                SessionRow(id_hash=digest(cookie), username=username, csrf=csrf, expires_at=_now() + self._session_ttl)
            )
            s.commit()
        return cookie, csrf

    def session_principal(self, cookie: str) -> Principal | None:
        with Session(self._engine) as s:
            row = s.get(SessionRow, digest(cookie))
            if row is None:
                return None
            if row.expires_at < _now():
                s.delete(row)
                s.commit()
                return None
            user = s.get(UserRow, row.username)
            if user is None or not user.enabled:
                return None
            return Principal(user.username, user.is_admin, "session", row.csrf)

    def close_session(self, cookie: str) -> None:
        with Session(self._engine) as s:
            s.exec(delete(SessionRow).where(col(SessionRow.id_hash) == digest(cookie)))
            s.commit()

    # API tokens -----------------------------------------------------------------------------------------------

    def create_token(self, username: str, name: str) -> tuple[TokenRow, str]:
        plain = new_token()
        row = TokenRow(id=uuid4().hex, token_hash=digest(plain), username=username, name=name, created_at=_now())
        with Session(self._engine) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
        return row, plain

    def tokens(self, username: str) -> list[TokenRow]:
        with Session(self._engine) as s:
            return list(s.exec(select(TokenRow).where(col(TokenRow.username) == username)).all())

    def delete_token(self, username: str, token_id: str) -> bool:
        with Session(self._engine) as s:
            row = s.get(TokenRow, token_id)
            if row is None or row.username != username:
                return False
            s.delete(row)
            s.commit()
            return True

    def token_principal(self, token: str) -> Principal | None:
        with Session(self._engine) as s:
            row = s.exec(select(TokenRow).where(col(TokenRow.token_hash) == digest(token))).first()
            if row is None:
                return None
            user = s.get(UserRow, row.username)
            if user is None or not user.enabled:
                return None
            return Principal(user.username, user.is_admin, "token")


@functools.cache
def _dummy_hash() -> str:
    return Passwords().hash("not a real password")
