"""API tokens and the audit log: who may do what, and who did what.

A token is shown once, when it is made; only its SHA-256 is stored. Tokens carry 256 random bits,
so a fast hash is enough: there is nothing to brute-force that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from evals.errors import ConfigError
from service.storage.public import IsoDatetime
from service.storage.runs import NotFound
from service.storage.tables import ApiTokenRow, AuditRow, utcnow

AccessRole = Literal["viewer", "editor", "admin"]
ROLES: tuple[AccessRole, ...] = ("viewer", "editor", "admin")
"""Each role may do everything the ones before it may."""

TOKEN_PREFIX = "tnt_"
"""Every token starts with this, so secret scanners and people can recognise one."""


class TokenPublic(BaseModel):
    """A token as listed: never the token itself."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    role: AccessRole
    prefix: str
    """The token's first characters."""
    created_at: IsoDatetime
    last_used_at: IsoDatetime | None
    revoked_at: IsoDatetime | None


class TokensPublic(BaseModel):
    """Tokens, newest first."""

    model_config = ConfigDict(frozen=True)

    tokens: list[TokenPublic]


class NewTokenPublic(TokenPublic):
    """A token just made, with the secret: shown this once and never again."""

    token: str


class AuditEntryPublic(BaseModel):
    """One recorded write."""

    model_config = ConfigDict(frozen=True)

    id: int
    actor: str
    """The name of the token that made the write (or `cli`)."""
    token_id: int | None
    action: str
    target: str
    detail: dict[str, Any]
    created_at: IsoDatetime


class AuditPublic(BaseModel):
    """Recorded writes, newest first; `next_cursor` fetches the older ones."""

    model_config = ConfigDict(frozen=True)

    entries: list[AuditEntryPublic]
    next_cursor: int | None


def role_allows(role: str, *, needed: AccessRole) -> bool:
    """True when *role* may do what *needed* may."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _public(row: ApiTokenRow) -> TokenPublic:
    return TokenPublic.model_validate(row, from_attributes=True)


def create_token(session: Session, *, role: str, name: str | None = None, actor: str = "cli",
                 actor_token_id: int | None = None) -> NewTokenPublic:
    """Make a token with *role*; the returned value holds the secret, the database only its hash.

    Raises:
        ConfigError: for a role that is not `viewer`, `editor` or `admin`, or an empty name.
    """
    if role not in ROLES:
        raise ConfigError(f"'{role}' is not a role; use one of {', '.join(ROLES)}", field="role")
    if name is not None and not name.strip():
        raise ConfigError("a token's name cannot be empty", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiTokenRow(name=name or f"{role}-{token[len(TOKEN_PREFIX):][:6]}", role=role, token_hash=_hash(token),
                      prefix=token[:10])
    session.add(row)
    session.flush()
    record(session, actor=actor, token_id=actor_token_id, action="token.create", target=f"token:{row.id}",
           detail={"name": row.name, "role": role})
    return NewTokenPublic(**_public(row).model_dump(), token=token)


def list_tokens(session: Session) -> TokensPublic:
    """Every token, revoked ones included, newest first."""
    rows = session.exec(select(ApiTokenRow).order_by(col(ApiTokenRow.id).desc())).all()
    return TokensPublic(tokens=[_public(row) for row in rows])


def revoke_token(session: Session, *, token_id: int, actor: str = "cli", actor_token_id: int | None = None
                 ) -> TokenPublic:
    """Revoke a token; revoking it again changes nothing. Raises NotFound for an unknown id."""
    row = session.get(ApiTokenRow, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}; `turnout token list` shows the ids")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        record(session, actor=actor, token_id=actor_token_id, action="token.revoke", target=f"token:{token_id}",
               detail={"name": row.name})
    return _public(row)


LAST_USE_RESOLUTION = timedelta(minutes=1)
"""How often a token's `last_used_at` is brought up to date."""


def authenticate(session: Session, *, token: str) -> ApiTokenRow | None:
    """The live token row for *token*, or None when it is unknown or revoked."""
    row = session.exec(select(ApiTokenRow).where(ApiTokenRow.token_hash == _hash(token),
                                                 col(ApiTokenRow.revoked_at).is_(None))).first()
    if row is not None:
        now, used = utcnow(), row.last_used_at
        if used is not None and used.tzinfo is None:
            used = used.replace(tzinfo=UTC)
        # Written at most once a minute (the resolution `turnout token list` shows): a write per request
        # would make every request of a token wait on the lock of that token's row.
        if used is None or now - used >= LAST_USE_RESOLUTION:
            row.last_used_at = now
            session.add(row)
            # Committed at once, before the request does anything: left pending, it would be flushed by the
            # route's first read and hold SQLite's one write lock until the request ends, locking out what the
            # route writes in sessions of its own (advising a cycle again, a comparison, a rescore).
            session.commit()
    return row


def record(session: Session, *, actor: str, action: str, target: str, token_id: int | None = None,
           detail: dict[str, Any] | None = None, at: datetime | None = None) -> None:
    """Add one entry to the audit log, in the caller's transaction (the write and its record commit together)."""
    session.add(AuditRow(token_id=token_id, actor=actor, action=action, target=target, detail=detail or {},
                         created_at=at or utcnow()))


def audit_log(session: Session, *, limit: int = 50, before: int | None = None) -> AuditPublic:
    """Recorded writes, newest first, *limit* at a time; *before* is the previous page's `next_cursor`."""
    query = select(AuditRow).order_by(col(AuditRow.id).desc()).limit(limit + 1)
    if before is not None:
        query = query.where(col(AuditRow.id) < before)
    rows = list(session.exec(query).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPublic(entries=[AuditEntryPublic.model_validate(row, from_attributes=True) for row in rows],
                       next_cursor=rows[-1].id if more and rows else None)
